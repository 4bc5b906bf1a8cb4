package ai.taco.metrics;

import ai.djl.ndarray.NDArray;

/**
 * Peak signal-to-noise ratio in dB, as TACO reports it: {@code -10 log10(mean((a-b)^2))} with data range 1, the mean
 * taken over every element (N·C·H·W) of the batch. Identical images give {@code +Infinity}.
 */
public final class Psnr {
  /** Peak value of 8-bit samples. */
  public static final double PEAK_8BIT = 255.0;

  private Psnr() {}

  /** PSNR in dB from a mean squared error and the peak value of the data range. */
  public static double fromMse(double mse, double peak) {
    return 10.0 * Math.log10(peak * peak / mse);
  }

  /** Mean squared error in double precision. */
  public static double mse(float[] a, float[] b) {
    checkSameLength(a.length, b.length);
    return sumSq(a, b, 0, a.length) / a.length;
  }

  /** PSNR of float images in [0,1] (any layout, all elements averaged: a batch gives TACO's batch PSNR). */
  public static double psnr(float[] a, float[] b) {
    return fromMse(mse(a, b), 1.0);
  }

  /** PSNR of 8-bit images (unsigned samples 0..255, peak 255); equals {@link #psnr(float[], float[])} of x/255. */
  public static double psnr8(byte[] a, byte[] b) {
    checkSameLength(a.length, b.length);
    return fromMse(sumSq8(a, b, 0, a.length) / a.length, PEAK_8BIT);
  }

  /** PSNR of each of the {@code n} equal-size images stored one after another in {@code a} and {@code b}. */
  public static double[] psnrPerImage(float[] a, float[] b, int n) {
    checkSameLength(a.length, b.length);
    int per = perImage(a.length, n);
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = fromMse(sumSq(a, b, i * per, per) / per, 1.0);
    }
    return out;
  }

  /** 8-bit variant of {@link #psnrPerImage(float[], float[], int)}. */
  public static double[] psnr8PerImage(byte[] a, byte[] b, int n) {
    checkSameLength(a.length, b.length);
    int per = perImage(a.length, n);
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = fromMse(sumSq8(a, b, i * per, per) / per, PEAK_8BIT);
    }
    return out;
  }

  /** PSNR of two float NDArrays in [0,1] of equal shape (mean over all elements). */
  public static double psnr(NDArray a, NDArray b) {
    if (!a.getShape().equals(b.getShape())) {
      throw new MetricException("PSNR: shapes differ: " + a.getShape() + " vs " + b.getShape());
    }
    return psnr(MsSsim.floats(a), MsSsim.floats(b));
  }

  private static double sumSq(float[] a, float[] b, int from, int len) {
    double s = 0;
    for (int i = from, end = from + len; i < end; i++) {
      double d = (double) a[i] - b[i];
      s += d * d;
    }
    return s;
  }

  private static double sumSq8(byte[] a, byte[] b, int from, int len) {
    long s = 0;
    for (int i = from, end = from + len; i < end; i++) {
      int d = (a[i] & 0xff) - (b[i] & 0xff);
      s += (long) d * d;
    }
    return s;
  }

  private static int perImage(int total, int n) {
    if (n <= 0 || total % n != 0) {
      throw new MetricException("PSNR: " + total + " values do not split into " + n + " equal images");
    }
    return total / n;
  }

  private static void checkSameLength(int a, int b) {
    if (a != b) {
      throw new MetricException("PSNR: images differ in size (" + a + " vs " + b + " values)");
    }
    if (a == 0) {
      throw new MetricException("PSNR: empty image");
    }
  }
}
