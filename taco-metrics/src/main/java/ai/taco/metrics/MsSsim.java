package ai.taco.metrics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * SSIM and MS-SSIM exactly as pytorch_msssim 1.0 computes them with {@code data_range=1}: an 11-tap Gaussian window
 * (sigma 1.5) applied separably with no padding, K=(0.01, 0.03), per-channel spatial means, and for MS-SSIM five
 * scales with the standard weights, {@code relu} on the contrast terms and on the last SSIM, and 2x2 average pooling
 * that zero-pads odd sides (count_include_pad). Results are averaged over channels and then images. Computed in double
 * precision on NCHW float images.
 */
public final class MsSsim {
  /** Window size and sigma of pytorch_msssim's defaults (Wang et al. 2004). */
  static final int WIN_SIZE = 11;

  static final double WIN_SIGMA = 1.5;

  /** SSIM stabilisers {@code (K1*L)^2, (K2*L)^2} with K=(0.01,0.03), L=1. */
  static final double C1 = 0.01 * 0.01;

  static final double C2 = 0.03 * 0.03;

  /** Per-scale exponents of MS-SSIM (Wang, Simoncelli, Bovik 2003), as in pytorch_msssim. */
  static final double[] WEIGHTS = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};

  /** MS-SSIM needs {@code min(H,W) > (WIN_SIZE-1)·2^4}: pytorch_msssim asserts the same. */
  public static final int MIN_SIDE_EXCLUSIVE = (WIN_SIZE - 1) * (1 << (WEIGHTS.length - 1));

  private static final double[] WINDOW = gaussianWindow();

  private MsSsim() {}

  /** MS-SSIM of two NCHW batches in [0,1], mean over channels and images. */
  public static double msSsim(float[] x, float[] y, int n, int c, int h, int w) {
    return mean(msSsimPerImage(x, y, n, c, h, w));
  }

  /** MS-SSIM of each image of the batch (pytorch_msssim {@code size_average=False}). */
  public static double[] msSsimPerImage(float[] x, float[] y, int n, int c, int h, int w) {
    checkShape(x, y, n, c, h, w);
    if (Math.min(h, w) <= MIN_SIDE_EXCLUSIVE) {
      throw new ImageTooSmallException(Math.min(h, w));
    }
    double[] out = new double[n];
    int plane = h * w;
    for (int i = 0; i < n; i++) {
      double sum = 0;
      for (int ch = 0; ch < c; ch++) {
        int off = (i * c + ch) * plane;
        sum += msSsimPlane(toDouble(x, off, plane), toDouble(y, off, plane), h, w);
      }
      out[i] = sum / c;
    }
    return out;
  }

  /** SSIM (pytorch_msssim {@code ssim}, no relu) of two NCHW batches in [0,1], mean over channels and images. */
  public static double ssim(float[] x, float[] y, int n, int c, int h, int w) {
    return mean(ssimPerImage(x, y, n, c, h, w));
  }

  /** SSIM of each image of the batch. */
  public static double[] ssimPerImage(float[] x, float[] y, int n, int c, int h, int w) {
    checkShape(x, y, n, c, h, w);
    double[] out = new double[n];
    int plane = h * w;
    for (int i = 0; i < n; i++) {
      double sum = 0;
      for (int ch = 0; ch < c; ch++) {
        int off = (i * c + ch) * plane;
        sum += ssimAndCs(toDouble(x, off, plane), toDouble(y, off, plane), h, w)[0];
      }
      out[i] = sum / c;
    }
    return out;
  }

  /** MS-SSIM of two NCHW NDArrays in [0,1]. */
  public static double msSsim(NDArray x, NDArray y) {
    int[] d = dims(x, y);
    return msSsim(floats(x), floats(y), d[0], d[1], d[2], d[3]);
  }

  /** SSIM of two NCHW NDArrays in [0,1]. */
  public static double ssim(NDArray x, NDArray y) {
    int[] d = dims(x, y);
    return ssim(floats(x), floats(y), d[0], d[1], d[2], d[3]);
  }

  private static double msSsimPlane(double[] x, double[] y, int h, int w) {
    double result = 1.0;
    for (int level = 0; level < WEIGHTS.length; level++) {
      double[] sc = ssimAndCs(x, y, h, w);
      if (level < WEIGHTS.length - 1) {
        result *= Math.pow(Math.max(sc[1], 0.0), WEIGHTS[level]);
        int nh = h / 2 + h % 2;
        int nw = w / 2 + w % 2;
        x = avgPool2(x, h, w, nh, nw);
        y = avgPool2(y, h, w, nh, nw);
        h = nh;
        w = nw;
      } else {
        result *= Math.pow(Math.max(sc[0], 0.0), WEIGHTS[level]);
      }
    }
    return result;
  }

  /**
   * 2x2/stride-2 average pooling with padding {@code (h%2, w%2)} on both sides and a fixed divisor of 4 (torch
   * avg_pool2d with count_include_pad=True): on an odd side the first output row/column averages a zero pad row.
   */
  private static double[] avgPool2(double[] x, int h, int w, int nh, int nw) {
    int ph = h % 2;
    int pw = w % 2;
    double[] out = new double[nh * nw];
    for (int i = 0; i < nh; i++) {
      for (int j = 0; j < nw; j++) {
        double s = 0;
        for (int di = 0; di < 2; di++) {
          int r = 2 * i + di - ph;
          if (r < 0 || r >= h) {
            continue;
          }
          for (int dj = 0; dj < 2; dj++) {
            int col = 2 * j + dj - pw;
            if (col >= 0 && col < w) {
              s += x[r * w + col];
            }
          }
        }
        out[i * nw + j] = s / 4.0;
      }
    }
    return out;
  }

  /** {ssim, cs}: spatial means of the SSIM and contrast-structure maps of one plane. */
  private static double[] ssimAndCs(double[] x, double[] y, int h, int w) {
    int plane = h * w;
    double[] xx = new double[plane];
    double[] yy = new double[plane];
    double[] xy = new double[plane];
    for (int i = 0; i < plane; i++) {
      xx[i] = x[i] * x[i];
      yy[i] = y[i] * y[i];
      xy[i] = x[i] * y[i];
    }
    // pytorch_msssim skips the blur along a side shorter than the window (with a warning); same here.
    boolean alongH = h >= WIN_SIZE;
    boolean alongW = w >= WIN_SIZE;
    int oh = alongH ? h - WIN_SIZE + 1 : h;
    int ow = alongW ? w - WIN_SIZE + 1 : w;
    double[] mu1 = filter(x, h, w, alongH, alongW);
    double[] mu2 = filter(y, h, w, alongH, alongW);
    double[] sxx = filter(xx, h, w, alongH, alongW);
    double[] syy = filter(yy, h, w, alongH, alongW);
    double[] sxy = filter(xy, h, w, alongH, alongW);
    double ssimSum = 0;
    double csSum = 0;
    int m = oh * ow;
    for (int i = 0; i < m; i++) {
      double mu1sq = mu1[i] * mu1[i];
      double mu2sq = mu2[i] * mu2[i];
      double mu12 = mu1[i] * mu2[i];
      double s1 = sxx[i] - mu1sq;
      double s2 = syy[i] - mu2sq;
      double s12 = sxy[i] - mu12;
      double cs = (2 * s12 + C2) / (s1 + s2 + C2);
      csSum += cs;
      ssimSum += (2 * mu12 + C1) / (mu1sq + mu2sq + C1) * cs;
    }
    return new double[] {ssimSum / m, csSum / m};
  }

  /** Valid (unpadded) separable Gaussian blur: along H, then along W. */
  private static double[] filter(double[] in, int h, int w, boolean alongH, boolean alongW) {
    double[] a = in;
    int ch = h;
    if (alongH) {
      ch = h - WIN_SIZE + 1;
      a = new double[ch * w];
      for (int i = 0; i < ch; i++) {
        int o = i * w;
        for (int k = 0; k < WIN_SIZE; k++) {
          double g = WINDOW[k];
          int src = (i + k) * w;
          for (int j = 0; j < w; j++) {
            a[o + j] += g * in[src + j];
          }
        }
      }
    }
    if (!alongW) {
      return a;
    }
    int cw = w - WIN_SIZE + 1;
    double[] b = new double[ch * cw];
    for (int i = 0; i < ch; i++) {
      int src = i * w;
      int o = i * cw;
      for (int j = 0; j < cw; j++) {
        double s = 0;
        for (int k = 0; k < WIN_SIZE; k++) {
          s += WINDOW[k] * a[src + j + k];
        }
        b[o + j] = s;
      }
    }
    return b;
  }

  private static double[] gaussianWindow() {
    double[] g = new double[WIN_SIZE];
    double sum = 0;
    int center = WIN_SIZE / 2;
    for (int i = 0; i < WIN_SIZE; i++) {
      double d = i - center;
      g[i] = Math.exp(-(d * d) / (2 * WIN_SIGMA * WIN_SIGMA));
      sum += g[i];
    }
    for (int i = 0; i < WIN_SIZE; i++) {
      g[i] /= sum;
    }
    return g;
  }

  private static double[] toDouble(float[] a, int off, int len) {
    double[] d = new double[len];
    for (int i = 0; i < len; i++) {
      d[i] = a[off + i];
    }
    return d;
  }

  private static double mean(double[] v) {
    double s = 0;
    for (double d : v) {
      s += d;
    }
    return s / v.length;
  }

  private static void checkShape(float[] x, float[] y, int n, int c, int h, int w) {
    long expected = (long) n * c * h * w;
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0) {
      throw new MetricException("SSIM: bad shape [" + n + "," + c + "," + h + "," + w + "]");
    }
    if (x.length != expected || y.length != expected) {
      throw new MetricException("SSIM: images must both have shape [" + n + "," + c + "," + h + "," + w + "] ("
          + expected + " values), got " + x.length + " and " + y.length);
    }
  }

  private static int[] dims(NDArray x, NDArray y) {
    Shape s = x.getShape();
    if (s.dimension() != 4 || !s.equals(y.getShape())) {
      throw new MetricException("SSIM: need two NCHW arrays of equal shape, got " + s + " and " + y.getShape());
    }
    return new int[] {(int) s.get(0), (int) s.get(1), (int) s.get(2), (int) s.get(3)};
  }

  /** Values as float, without leaving a converted copy attached to the caller's manager. */
  static float[] floats(NDArray a) {
    if (a.getDataType() == DataType.FLOAT32) {
      return a.toFloatArray();
    }
    try (NDArray f = a.toType(DataType.FLOAT32, true)) {
      return f.toFloatArray();
    }
  }
}
