package ai.taco.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.clip.ClipVisionModel;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** CMMD's CLIP preprocessing and embedding on the small random CLIP vision model (golden clip/). */
class CmmdEmbedderTest {
  private static CmmdEmbedder embedder;
  private static ClipVisionModel reference;
  private static NDManager manager;
  private static Map<String, HostTensor> images;

  @BeforeAll
  static void load() {
    embedder = new CmmdEmbedder(ClipVisionModel.load(Golden.golden("clip/vision-small-config.json"),
        Golden.golden("clip/vision-small.safetensors")), CmmdEmbedder.Recipe.GOOGLE_RESEARCH);
    reference = ClipVisionModel.load(Golden.golden("clip/vision-small-config.json"),
        Golden.golden("clip/vision-small.safetensors"));
    manager = NDManager.newBaseManager();
    images = Golden.tensors("clip/vision-small-out.safetensors");
  }

  @AfterAll
  static void close() {
    embedder.close();
    reference.close();
    manager.close();
  }

  /** Written out independently: ((u8/255) - mean) / std with the OpenAI CLIP constants, for an [1,3,S,S] crop. */
  private static float[] normalised(float[] x01, int h, int w, int top, int left, int s) {
    float[] mean = {0.48145466f, 0.4578275f, 0.40821073f};
    float[] std = {0.26862954f, 0.26130258f, 0.27577711f};
    float[] out = new float[3 * s * s];
    for (int c = 0; c < 3; c++) {
      for (int y = 0; y < s; y++) {
        for (int x = 0; x < s; x++) {
          out[(c * s + y) * s + x] = (x01[(c * h + top + y) * w + left + x] - mean[c]) / std[c];
        }
      }
    }
    return out;
  }

  @Test
  void centreCropWithoutResizeIsExactAndEmbeddingIsUnitNorm() {
    // A 224x300 image (short side = model size, so no resize): img1's 200 rows of 300 pixels, then its first 24 again.
    HostTensor t = images.get("img1.raw_u8");
    float[] src = TestTensors.floats01(t);
    int h = 224, w = 300;
    float[] x = new float[3 * h * w];
    for (int c = 0; c < 3; c++) {
      for (int y = 0; y < h; y++) {
        System.arraycopy(src, (c * 200 + (y % 200)) * w, x, (c * h + y) * w, w);
      }
    }
    NDArray img = manager.create(x, new Shape(1, 3, h, w));
    NDArray pre = CmmdEmbedder.preprocess(img, 224);
    float[] expected = normalised(x, h, w, 0, (300 - 224) / 2, 224);
    float[] got = pre.toFloatArray();
    double max = 0;
    for (int i = 0; i < got.length; i++) {
      max = Math.max(max, Math.abs(got[i] - expected[i]));
    }
    assertEquals(0.0, max, 1e-5, "crop + 8-bit rounding (a no-op here) + normalisation");

    float[] e = embedder.embed(img);
    float[] ref = reference.forward(manager.create(expected, new Shape(1, 3, 224, 224))).imageEmbeds()
        .toFloatArray();
    double n = 0;
    for (float v : ref) {
      n += (double) v * v;
    }
    double norm = 0;
    for (int i = 0; i < e.length; i++) {
      assertEquals(ref[i] / Math.sqrt(n), e[i], 1e-5, "embedding " + i);
      norm += (double) e[i] * e[i];
    }
    assertEquals(1.0, norm, 1e-6);
  }

  @Test
  void largerImagesAreShrunkAndRejectedShapesAreTyped() {
    NDArray img = TestTensors.image(manager, images.get("img2.raw_u8")); // 300x180: crop 180x180, resize to 224
    assertEquals(new Shape(1, 3, 224, 224), CmmdEmbedder.preprocess(img, 224).getShape());
    assertEquals(32, embedder.embed(img).length);
    assertThrows(MetricException.class, () -> embedder.embed(manager.zeros(new Shape(2, 3, 64, 64))));
  }
}
