package ai.taco.core.image;

import ai.taco.core.tensor.HostTensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.error.ImageException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The row-streaming PNG writer against javax.imageio's reader and the reference writer {@link Images#writePng}. */
class PngRowsTest {
  @TempDir Path dir;

  private static final int H = 37;
  private static final int W = 53;

  /** Smooth ramps (so every filter type wins somewhere), noise, and values outside [0, 1] to clamp. */
  private static float[] testImage(int h, int w, long seed) {
    Random r = new Random(seed);
    float[] chw = new float[3 * h * w];
    for (int i = 0; i < chw.length; i++) {
      int y = i % (h * w) / w;
      int x = i % w;
      chw[i] = i % 7 == 0 ? r.nextFloat() * 1.4f - 0.2f : (x + 2 * y) / 150f;
    }
    return chw;
  }

  /** Rows [top, top+rows) of planar [3,h,w] floats as a [3,rows,w] band. */
  private static HostTensor band(float[] chw, int h, int w, int top, int rows) {
    float[] b = new float[3 * rows * w];
    for (int c = 0; c < 3; c++) {
      System.arraycopy(chw, (c * h + top) * w, b, c * rows * w, rows * w);
    }
    return HostTensor.ofFloats(b, 3, rows, w);
  }

  /** Hands {@code chw} over in bands of the given heights. */
  private static Consumer<Consumer<HostTensor>> inBands(float[] chw, int h, int w, int... heights) {
    return sink -> {
      int top = 0;
      for (int rows : heights) {
        sink.accept(band(chw, h, w, top, rows));
        top += rows;
      }
    };
  }

  @Test
  void bandsGiveTheBytesOfTheWholeImageWriter() throws Exception {
    float[] chw = testImage(H, W, 9);
    Path whole = dir.resolve("whole.png");
    Images.writePngRows(HostTensor.ofFloats(chw, 1, 3, H, W), whole, false);
    byte[] expected = Files.readAllBytes(whole);
    int[][] splits = {{H}, {1, 36}, {10, 10, 10, 7}, {36, 1}, {5, 1, 20, 11}};
    for (int[] split : splits) {
      Path banded = dir.resolve("banded-" + split.length + "-" + split[0] + ".png");
      Images.writePngRows(banded, false, W, H, inBands(chw, H, W, split));
      assertArrayEquals(expected, Files.readAllBytes(banded), java.util.Arrays.toString(split));
    }
    // A [1,3,rows,W] band is taken too.
    Path four = dir.resolve("four.png");
    Images.writePngRows(four, false, W, H, sink -> sink.accept(HostTensor.ofFloats(chw, 1, 3, H, W)));
    assertArrayEquals(expected, Files.readAllBytes(four));
    // Large enough for several IDAT chunks and deflate blocks.
    int h = 300;
    int w = 411;
    float[] big = testImage(h, w, 11);
    Path bigWhole = dir.resolve("big-whole.png");
    Path bigBanded = dir.resolve("big-banded.png");
    Images.writePngRows(HostTensor.ofFloats(big, 1, 3, h, w), bigWhole, false);
    Images.writePngRows(bigBanded, false, w, h, inBands(big, h, w, 128, 128, 44));
    assertArrayEquals(Files.readAllBytes(bigWhole), Files.readAllBytes(bigBanded));
    assertTrue(Files.size(bigWhole) > 1 << 16, "more than one IDAT chunk");
  }

  /** No output at all, and no temporary file, whenever the bands fail: the target never holds a partial PNG. */
  @Test
  void aFailureMidwayLeavesNoFile() throws Exception {
    float[] chw = testImage(H, W, 9);
    Path out = dir.resolve("out.png");
    RuntimeException broken = new IllegalStateException("band 2 is broken");
    RuntimeException e = assertThrows(RuntimeException.class, () -> Images.writePngRows(out, false, W, H, sink -> {
      sink.accept(band(chw, H, W, 0, 10));
      throw broken;
    }));
    assertSame(broken, e);
    assertNothingWritten();
    // Too few rows, too many rows, a band of the wrong width, NaN in a later band.
    assertThrows(ImageException.class, () -> Images.writePngRows(out, false, W, H, inBands(chw, H, W, 10, 10)));
    assertThrows(ImageException.class, () -> Images.writePngRows(out, false, W, H - 1, inBands(chw, H, W, 20, 17)));
    assertThrows(ImageException.class, () -> Images.writePngRows(out, false, W + 1, H, inBands(chw, H, W, H)));
    float[] nan = chw.clone();
    nan[3 * W * 30 - 1] = Float.NaN; // last channel, row 29
    assertThrows(ImageException.class, () -> Images.writePngRows(out, false, W, H, inBands(nan, H, W, 20, 17)));
    assertNothingWritten();
  }

  @Test
  void anExistingFileIsReplacedOnlyWhenAllowed() throws Exception {
    float[] chw = testImage(H, W, 9);
    Path out = dir.resolve("kept.png");
    Files.writeString(out, "precious");
    assertThrows(ImageException.class, () -> Images.writePngRows(out, false, W, H, inBands(chw, H, W, H)));
    assertEquals("precious", Files.readString(out));
    // Overwrite allowed, but the bands fail: the old file stays.
    assertThrows(ImageException.class, () -> Images.writePngRows(out, true, W, H, inBands(chw, H, W, 3)));
    assertEquals("precious", Files.readString(out));
    Images.writePngRows(out, true, W, H, inBands(chw, H, W, H));
    assertArrayEquals(new long[] {1, 3, H, W}, Images.read(out).shape());
  }

  private void assertNothingWritten() throws Exception {
    try (Stream<Path> files = Files.list(dir)) {
      assertFalse(files.findAny().isPresent(), "no file and no temporary file left behind");
    }
  }

  @Test
  void writesThePixelsImagesWritePngWrites() throws Exception {
    int h = H;
    int w = W;
    float[] chw = testImage(h, w, 5);
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
