package ai.taco.core.image;

import ai.taco.core.tensor.HostTensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The row-streaming PNG writer against javax.imageio's reader and the reference writer {@link Images#writePng}. */
class PngRowsTest {
  @TempDir Path dir;

  @Test
  void writesThePixelsImagesWritePngWrites() throws Exception {
    int h = 37;
    int w = 53;
    Random r = new Random(5);
    float[] chw = new float[3 * h * w];
    for (int i = 0; i < chw.length; i++) {
      // Smooth ramps (so every filter type wins somewhere), noise, and values outside [0, 1] to clamp.
      int y = i % (h * w) / w;
      int x = i % w;
      chw[i] = i % 7 == 0 ? r.nextFloat() * 1.4f - 0.2f : (x + 2 * y) / 150f;
    }
    HostTensor image = HostTensor.ofFloats(chw, 1, 3, h, w);
    Path ours = dir.resolve("rows.png");
    Path ref = dir.resolve("ref.png");
    PngRows.write(image, ours, false);
    Images.writePng(image, ref, false);
    HostTensor back = Images.read(ours);
    assertArrayEquals(new long[] {1, 3, h, w}, back.shape());
    assertArrayEquals(Images.read(ref).toFloatArray(), back.toFloatArray());
    float[] px = back.toFloatArray();
    for (int i = 0; i < chw.length; i += 97) {
      assertEquals(Images.toByte(chw[i]), Math.round(px[i] * 255f), "sample " + i);
    }
  }
}
