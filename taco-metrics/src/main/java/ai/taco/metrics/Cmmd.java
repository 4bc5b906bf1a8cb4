package ai.taco.metrics;

/**
 * CMMD (Jayasumana et al. 2024, "Rethinking FID"): the maximum mean discrepancy between two sets of CLIP image
 * embeddings under a Gaussian RBF kernel, with the constants and estimator of google-research/cmmd {@code distance.py}
 * (biased estimator: the diagonals are included in the means; the two sets may differ in size).
 *
 * <p>Embeddings are used as given; CMMD L2-normalises CLIP embeddings first ({@link #l2Normalize}).
 */
public final class Cmmd {
  /** Kernel bandwidth of google-research/cmmd distance.py ({@code _SIGMA}). */
  public static final double SIGMA = 10.0;

  /** Output scale of google-research/cmmd distance.py ({@code _SCALE}). */
  public static final double SCALE = 1000.0;

  private static final double GAMMA = 1.0 / (2.0 * SIGMA * SIGMA);

  private Cmmd() {}

  /** CMMD of two embedding sets ({@code [n][d]} and {@code [m][d]}), computed in double precision. */
  public static double cmmd(float[][] x, float[][] y) {
    int d = checkDims(x, y);
    double[] nx = sqNorms(x, d);
    double[] ny = sqNorms(y, d);
    double kxx = meanKernel(x, nx, x, nx, d);
    double kyy = meanKernel(y, ny, y, ny, d);
    double kxy = meanKernel(x, nx, y, ny, d);
    return SCALE * (kxx + kyy - 2 * kxy);
  }

  /**
   * CMMD computed in float32 as the reference does on float32 embeddings (kernel entries formed and exponentiated in
   * float; means accumulated in double). Differs from {@link #cmmd} by the float32 cancellation (~1e-4 relative).
   */
  public static float cmmdFloat32(float[][] x, float[][] y) {
    int d = checkDims(x, y);
    float[] nx = sqNormsF(x, d);
    float[] ny = sqNormsF(y, d);
    double kxx = meanKernelF(x, nx, x, nx, d);
    double kyy = meanKernelF(y, ny, y, ny, d);
    double kxy = meanKernelF(x, nx, y, ny, d);
    return (float) (SCALE * ((float) kxx + (float) kyy - 2 * (float) kxy));
  }

  /** A copy of {@code e} with every row scaled to unit L2 norm (CMMD's treatment of CLIP embeddings). */
  public static float[][] l2Normalize(float[][] e) {
    float[][] out = new float[e.length][];
    for (int i = 0; i < e.length; i++) {
      double s = 0;
      for (float v : e[i]) {
        s += (double) v * v;
      }
      double inv = 1.0 / Math.sqrt(s);
      out[i] = new float[e[i].length];
      for (int j = 0; j < e[i].length; j++) {
        out[i][j] = (float) (e[i][j] * inv);
      }
    }
    return out;
  }

  private static double meanKernel(float[][] a, double[] na, float[][] b, double[] nb, int d) {
    double sum = 0;
    for (int i = 0; i < a.length; i++) {
      float[] ai = a[i];
      for (int j = 0; j < b.length; j++) {
        float[] bj = b[j];
        double dot = 0;
        for (int k = 0; k < d; k++) {
          dot += (double) ai[k] * bj[k];
        }
        sum += Math.exp(-GAMMA * (-2 * dot + na[i] + nb[j]));
      }
    }
    return sum / ((double) a.length * b.length);
  }

  private static double meanKernelF(float[][] a, float[] na, float[][] b, float[] nb, int d) {
    float gamma = (float) GAMMA;
    double sum = 0;
    for (int i = 0; i < a.length; i++) {
      float[] ai = a[i];
      for (int j = 0; j < b.length; j++) {
        float[] bj = b[j];
        float dot = 0;
        for (int k = 0; k < d; k++) {
          dot += ai[k] * bj[k];
        }
        float arg = -gamma * (-2f * dot + na[i] + nb[j]);
        sum += (float) Math.exp(arg);
      }
    }
    return sum / ((double) a.length * b.length);
  }

  private static double[] sqNorms(float[][] a, int d) {
    double[] n = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      double s = 0;
      for (int k = 0; k < d; k++) {
        s += (double) a[i][k] * a[i][k];
      }
      n[i] = s;
    }
    return n;
  }

  private static float[] sqNormsF(float[][] a, int d) {
    float[] n = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      float s = 0;
      for (int k = 0; k < d; k++) {
        s += a[i][k] * a[i][k];
      }
      n[i] = s;
    }
    return n;
  }

  private static int checkDims(float[][] x, float[][] y) {
    if (x.length == 0 || y.length == 0) {
      throw new MetricException("CMMD: both embedding sets must be non-empty (got " + x.length + " and " + y.length
          + ")");
    }
    int d = x[0].length;
    for (float[][] set : new float[][][] {x, y}) {
      for (float[] row : set) {
        if (row.length != d) {
          throw new MetricException("CMMD: embeddings differ in dimension (" + d + " vs " + row.length + ")");
        }
      }
    }
    return d;
  }
}
