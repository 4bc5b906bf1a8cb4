package ai.taco.metrics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import org.apache.commons.math3.random.MersenneTwister;

/**
 * Kernel Inception Distance (Bińkowski et al. 2018) with the estimator of torch-fidelity ({@code metric_kid.py},
 * itself from the authors' MMD-GAN code): the unbiased MMD² between the two feature sets under the polynomial kernel
 * {@code k(x,y) = (x·y/d + 1)³}, averaged over random subsets of equal size drawn without replacement from each set;
 * the spread of the subset values is reported as {@code std} (population standard deviation, numpy's default).
 *
 * <p>Subsets are drawn exactly as torch-fidelity draws them: numpy's legacy {@code RandomState(seed)}, for every subset
 * {@code choice(n1, m, replace=False)} then {@code choice(n2, m, replace=False)}, so with the same seed the same
 * subsets and the same values come out. Kernel matrices are computed in float64 with libtorch.
 */
public final class Kid {
  /** torch-fidelity default {@code kid_subsets}. */
  public static final int DEFAULT_SUBSETS = 100;

  /** torch-fidelity default {@code kid_subset_size}; smaller sets use their own size (torch-fidelity refuses them). */
  public static final int DEFAULT_SUBSET_SIZE = 1000;

  /** torch-fidelity default {@code rng_seed}. */
  public static final int DEFAULT_SEED = 2020;

  /** Polynomial kernel degree and constant (torch-fidelity {@code kid_kernel_poly_degree/coef0}; gamma is 1/d). */
  static final int DEGREE = 3;

  static final double COEF0 = 1;

  private Kid() {}

  /**
   * @param mean the mean of the subset MMD² values (KID)
   * @param std their population standard deviation
   * @param subsetSize rows per subset
   * @param subsets number of subsets
   */
  public record Result(double mean, double std, int subsetSize, int subsets) {}

  /**
   * KID with torch-fidelity's defaults: 100 subsets of {@code min(1000, na, nb)} rows, seed 2020.
   *
   * @param a row-major [na, dim] features of the first set
   * @param b row-major [nb, dim] features of the second set
   */
  public static Result kid(double[] a, int na, double[] b, int nb, int dim) {
    return kid(a, na, b, nb, dim, DEFAULT_SUBSETS, Math.min(DEFAULT_SUBSET_SIZE, Math.min(na, nb)), DEFAULT_SEED);
  }

  /** KID with explicit subset count, subset size and seed (a non-negative int, like numpy's legacy seeds). */
  public static Result kid(double[] a, int na, double[] b, int nb, int dim, int subsets, int subsetSize, int seed) {
    requireRows(a, na, dim, "first");
    requireRows(b, nb, dim, "second");
    if (subsets < 1) {
      throw new MetricException("KID: the number of subsets must be >= 1, got " + subsets);
    }
    if (subsetSize < 2 || subsetSize > Math.min(na, nb)) {
      throw new MetricException("KID: the subset size must be between 2 and the smaller set's size ("
          + Math.min(na, nb) + "), got " + subsetSize);
    }
    if (seed < 0) {
      throw new MetricException("KID: the seed must be >= 0, got " + seed);
    }
    NumpyLegacyRandom rng = new NumpyLegacyRandom(seed);
    double[] mmd = new double[subsets];
    try (NDManager m = NDManager.newBaseManager()) {
      for (int s = 0; s < subsets; s++) {
        int[] ia = rng.choice(na, subsetSize);
        int[] ib = rng.choice(nb, subsetSize);
        try (NDManager step = m.newSubManager()) {
          mmd[s] = mmd2Unbiased(step, rows(a, ia, dim), rows(b, ib, dim), subsetSize, dim);
        }
      }
    }
    double mean = Arrays.stream(mmd).sum() / subsets;
    double var = Arrays.stream(mmd).map(v -> (v - mean) * (v - mean)).sum() / subsets;
    return new Result(mean, Math.sqrt(var), subsetSize, subsets);
  }

  /** The subset MMD² values for given subset rows (the indices the reference drew), for parity checks. */
  static double[] subsetMmd2(double[] a, int na, double[] b, int nb, int dim, int[][] rowsA, int[][] rowsB) {
    requireRows(a, na, dim, "first");
    requireRows(b, nb, dim, "second");
    double[] out = new double[rowsA.length];
    try (NDManager m = NDManager.newBaseManager()) {
      for (int s = 0; s < rowsA.length; s++) {
        try (NDManager step = m.newSubManager()) {
          out[s] = mmd2Unbiased(step, rows(a, rowsA[s], dim), rows(b, rowsB[s], dim), rowsA[s].length, dim);
        }
      }
    }
    return out;
  }

  /**
   * torch-fidelity {@code mmd2(..., mmd_est="unbiased")}: the within-set kernel sums without their diagonals over
   * m(m-1), minus twice the whole cross-kernel sum over m².
   */
  static double mmd2Unbiased(NDManager manager, double[] x, double[] y, int m, int dim) {
    NDArray xs = manager.create(x, new Shape(m, dim));
    NDArray ys = manager.create(y, new Shape(m, dim));
    double xx = offDiagonalSum(kernel(xs, xs, dim), m);
    double yy = offDiagonalSum(kernel(ys, ys, dim), m);
    double xy = 0;
    for (double v : kernel(xs, ys, dim)) {
      xy += v;
    }
    return (xx + yy) / ((double) m * (m - 1)) - 2 * xy / ((double) m * m);
  }

  /** {@code (x yᵀ · gamma + coef0)^degree} with gamma = 1/d, row-major [m, m]. */
  private static double[] kernel(NDArray x, NDArray y, int dim) {
    return x.matMul(y.transpose()).mul(1.0 / dim).add(COEF0).pow(DEGREE).toDoubleArray();
  }

  private static double offDiagonalSum(double[] k, int m) {
    double sum = 0;
    for (int i = 0; i < m; i++) {
      double row = 0;
      for (int j = 0; j < m; j++) {
        row += k[i * m + j];
      }
      sum += row - k[i * m + i];
    }
    return sum;
  }

  private static double[] rows(double[] data, int[] index, int dim) {
    double[] out = new double[index.length * dim];
    for (int r = 0; r < index.length; r++) {
      System.arraycopy(data, index[r] * dim, out, r * dim, dim);
    }
    return out;
  }

  private static void requireRows(double[] data, int n, int dim, String which) {
    if (n < 1 || dim < 1 || (long) n * dim != data.length) {
      throw new MetricException("KID: the " + which + " feature set holds " + data.length + " values, not " + n
          + " rows of " + dim);
    }
  }

  /**
   * The draws of numpy's legacy {@code RandomState} that torch-fidelity's KID uses: MT19937 seeded with
   * {@code init_genrand(seed)}; {@code choice(n, m, replace=False)} is {@code permutation(n)[:m]}, a Fisher-Yates
   * shuffle of {@code arange(n)} from the last position down, each swap partner drawn by {@code random_interval}
   * (32-bit outputs masked to the smallest covering bit mask, rejected until within range).
   */
  static final class NumpyLegacyRandom {
    private final MersenneTwister mt;

    NumpyLegacyRandom(int seed) {
      // commons-math3's int seed is MT19937's init_genrand, the seeding numpy's legacy RandomState(int) uses.
      this.mt = new MersenneTwister(seed);
    }

    int[] choice(int n, int m) {
      int[] p = new int[n];
      for (int i = 0; i < n; i++) {
        p[i] = i;
      }
      for (int i = n - 1; i >= 1; i--) {
        int j = (int) interval(i);
        int t = p[i];
        p[i] = p[j];
        p[j] = t;
      }
      return Arrays.copyOf(p, m);
    }

    /** numpy {@code random_interval(max)} for max < 2³². */
    private long interval(long max) {
      long mask = max;
      mask |= mask >>> 1;
      mask |= mask >>> 2;
      mask |= mask >>> 4;
      mask |= mask >>> 8;
      mask |= mask >>> 16;
      long v;
      do {
        v = (mt.nextInt() & 0xffffffffL) & mask;
      } while (v > max);
      return v;
    }
  }
}
