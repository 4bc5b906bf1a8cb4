package ai.taco.eval.cli;

import ai.taco.core.io.HostTensor;

/** Benchmark images of any size: a photograph repeated (mirrored at every seam, so no edge is artificial). */
final class KodakTiling {
  private KodakTiling() {}

  /** [1,3,height,width] tiled from {@code source} [1,3,H,W] or [3,H,W], mirrored copies alternating. */
  static HostTensor tile(HostTensor source, int width, int height) {
    long[] s = source.shape();
    int h = (int) s[s.length - 2];
    int w = (int) s[s.length - 1];
    if ((long) width * height * 3 > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("benchmark image " + width + "x" + height + " is too large to hold");
    }
    float[] src = source.toFloatArray();
    float[] out = new float[3 * width * height];
    for (int c = 0; c < 3; c++) {
      for (int y = 0; y < height; y++) {
        int sy = mirror(y, h);
        int srcRow = (c * h + sy) * w;
        int dstRow = (c * height + y) * width;
        for (int x = 0; x < width; x++) {
          out[dstRow + x] = src[srcRow + mirror(x, w)];
        }
      }
    }
    return HostTensor.ofFloats(out, 1, 3, height, width);
  }

  /** Position i of the sequence 0..n-1, n-1..0, 0..n-1, ... */
  private static int mirror(int i, int n) {
    int k = i % (2 * n);
    return k < n ? k : 2 * n - 1 - k;
  }
}
