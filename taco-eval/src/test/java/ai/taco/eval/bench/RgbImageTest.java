package ai.taco.eval.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The 8-bit conversions: torchvision save_image (ties up, clamped) versus torch.round (ties to even). */
class RgbImageTest {

  @Test
  void saveImageRoundsHalfUpAndClamps() {
    // 2.5/255 * 255 is exactly 2.5 in float32: save_image gives 3, torch.round 2.
    float tie = 2.5f / 255f;
    assertEquals(2.5f, tie * 255f);
    float[] v = {tie, 3.5f / 255f, -0.2f, 1.7f, 0.5f, 0.999f};
    int[] saveImage = {3, 4, 0, 255, 128, 255};
    int[] torchRound = {2, 4, 0, 255, 128, 255};
    RgbImage img = new RgbImage(2, 1, v);
    RgbImage saved = img.asSaveImagePng();
    RgbImage rounded = img.quantized8();
    for (int i = 0; i < v.length; i++) {
      assertEquals(saveImage[i] / 255f, saved.planes()[i], "save_image " + v[i]);
      assertEquals(torchRound[i] / 255f, rounded.planes()[i], "round " + v[i]);
    }
    // An 8-bit picture is a fixed point of both.
    assertEquals(saved, saved.asSaveImagePng());
    assertEquals(saved, saved.quantized8());
  }
}
