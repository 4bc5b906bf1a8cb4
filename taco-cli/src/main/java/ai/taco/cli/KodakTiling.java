package ai.taco.cli;

import ai.djl.ndarray.types.DataType;
import ai.taco.core.tensor.HostTensor;
import java.nio.ByteBuffer;

/** Benchmark images of any size: a photograph repeated (mirrored at every seam, so no edge is artificial). */
final class KodakTiling {
  private KodakTiling() {}

  /**
   * [1,3,height,width] tiled from {@code source} [1,3,H,W] or [3,H,W], mirrored copies alternating: UINT8 from a UINT8
   * source ({@code Images.readCompact}, a quarter of the float image's memory), float32 otherwise.
   */
  static HostTensor tile(HostTensor source, int width, int height) {
    long[] s = source.shape();
    int h = (int) s[s.length - 2];
    int w = (int) s[s.length - 1];
    if ((long) width * height * 3 > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("benchmark image " + width + "x" + height + " is too large to hold");
    }
    if (source.dataType() == DataType.UINT8) {
      byte[] src = source.toByteArray();
      byte[] out = new byte[3 * width * height];
      tile(h, w, width, height, (dst, from) -> out[dst] = src[from]);
      return new HostTensor(DataType.UINT8, new long[] {1, 3, height, width}, ByteBuffer.wrap(out));
    }
    float[] src = source.toFloatArray();
    float[] out = new float[3 * width * height];
    tile(h, w, width, height, (dst, from) -> out[dst] = src[from]);
    return HostTensor.ofFloats(out, 1, 3, height, width);
  }

  /** Copies one sample of the planar output from the planar source. */
  @FunctionalInterface
  private interface Copy {
    void sample(int dst, int src);
  }

  private static void tile(int h, int w, int width, int height, Copy copy) {
    for (int c = 0; c < 3; c++) {
      for (int y = 0; y < height; y++) {
        int sy = mirror(y, h);
        int srcRow = (c * h + sy) * w;
        int dstRow = (c * height + y) * width;
        for (int x = 0; x < width; x++) {
          copy.sample(dstRow + x, srcRow + mirror(x, w));
        }
      }
    }
  }

  /** Position i of the sequence 0..n-1, n-1..0, 0..n-1, ... */
  private static int mirror(int i, int n) {
    int k = i % (2 * n);
    return k < n ? k : 2 * n - 1 - k;
  }
}
