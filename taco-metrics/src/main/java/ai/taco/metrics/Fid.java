package ai.taco.metrics;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.CholeskyDecomposition_F64;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;

/**
 * Fréchet Inception Distance between two Gaussians fitted to feature sets (Heusel et al. 2017), as pytorch-fid's
 * {@code calculate_frechet_distance}: {@code |mu1-mu2|^2 + tr(S1) + tr(S2) - 2 tr(sqrtm(S1 S2))}.
 *
 * <p>The trace term is taken through the symmetric form {@code tr sqrtm(S1 S2) = Σ sqrt(eig(A S2 A))} with
 * {@code A = sqrtm(S1)}, which needs only symmetric eigen-decompositions (stable, real) instead of scipy's general
 * Schur-based sqrtm. Tiny negative eigenvalues from rounding are clamped to 0.
 *
 * <p>Features are accumulated with {@link Accumulator} (streaming sums in double), so a 30k-image run never holds all
 * features.
 */
public final class Fid {
  private Fid() {}

  /** Statistics of the rows of {@code activations} ([n][d]), covariance divided by n-1 as {@code np.cov}. */
  public static GaussianStats statistics(double[][] activations) {
    if (activations.length < 2) {
      throw new MetricException("FID: need at least 2 feature vectors for a covariance, got " + activations.length);
    }
    Accumulator acc = new Accumulator(activations[0].length);
    for (double[] row : activations) {
      acc.add(row);
    }
    return acc.statistics();
  }

  /** Fréchet distance between two Gaussians. */
  public static double frechetDistance(GaussianStats a, GaussianStats b) {
    if (a.dim() != b.dim()) {
      throw new MetricException("FID: feature dimensions differ (" + a.dim() + " vs " + b.dim() + ")");
    }
    int d = a.dim();
    double diff = 0;
    for (int i = 0; i < d; i++) {
      double t = a.mean()[i] - b.mean()[i];
      diff += t * t;
    }
    DMatrixRMaj s1 = DMatrixRMaj.wrap(d, d, a.covariance().clone());
    DMatrixRMaj s2 = DMatrixRMaj.wrap(d, d, b.covariance().clone());
    double traceSqrt = traceSqrtProduct(s1, s2);
    return diff + CommonOps_DDRM.trace(s1) + CommonOps_DDRM.trace(s2) - 2 * traceSqrt;
  }

  /**
   * {@code tr sqrtm(S1 S2)} for symmetric PSD S1, S2. If S1 is positive definite, {@code S1 = L Lᵀ} (Cholesky) makes
   * {@code S1 S2} similar to the symmetric {@code Lᵀ S2 L}, whose eigenvalues (no eigenvectors needed) give the trace.
   * Otherwise (rank-deficient S1) {@code A = sqrtm(S1)} from an eigen-decomposition and the eigenvalues of {@code A S2
   * A}. Tiny negative eigenvalues from rounding are clamped to 0.
   */
  static double traceSqrtProduct(DMatrixRMaj s1, DMatrixRMaj s2) {
    int d = s1.numRows;
    DMatrixRMaj m = new DMatrixRMaj(d, d);
    DMatrixRMaj tmp = new DMatrixRMaj(d, d);
    CholeskyDecomposition_F64<DMatrixRMaj> chol = DecompositionFactory_DDRM.chol(d, true);
    DMatrixRMaj sym1 = s1.copy();
    symmetrize(sym1);
    if (chol.decompose(sym1)) {
      DMatrixRMaj l = chol.getT(null);
      CommonOps_DDRM.multTransA(l, s2, tmp);
      CommonOps_DDRM.mult(tmp, l, m);
    } else {
      DMatrixRMaj root1 = symmetricSqrt(s1);
      CommonOps_DDRM.mult(root1, s2, tmp);
      CommonOps_DDRM.mult(tmp, root1, m);
    }
    symmetrize(m);
    double traceSqrt = 0;
    for (double ev : eigenvalues(m, false).values) {
      traceSqrt += Math.sqrt(Math.max(ev, 0.0));
    }
    return traceSqrt;
  }

  /**
   * Fréchet distance straight from two feature sets ({@code [na][dim]} and {@code [nb][dim]}, row-major). With fewer
   * samples than dimensions (24 Kodak images vs 2048 features) it uses the exact low-rank identity: with centred data
   * D1, D2, {@code S1 S2 = D1ᵀ(D1 D2ᵀ)D2 / ((na-1)(nb-1))} has the nonzero eigenvalues of {@code M Mᵀ}, {@code M = D1
   * D2ᵀ}, so {@code tr sqrtm(S1 S2)} is the sum of the singular values of M over {@code sqrt((na-1)(nb-1))}: an
   * na×nb SVD instead of two dim×dim eigen-decompositions. Otherwise it goes through {@link #frechetDistance(
   * GaussianStats, GaussianStats)}.
   */
  public static double frechetDistance(double[] a, int na, double[] b, int nb, int dim) {
    if (na < 2 || nb < 2) {
      throw new MetricException("FID: need at least 2 feature vectors per set, got " + na + " and " + nb);
    }
    if (a.length != (long) na * dim || b.length != (long) nb * dim) {
      throw new MetricException("FID: feature arrays do not hold " + na + "x" + dim + " and " + nb + "x" + dim);
    }
    if (Math.min(na, nb) > dim) {
      Accumulator x = new Accumulator(dim);
      x.addBatch(a, na);
      Accumulator y = new Accumulator(dim);
      y.addBatch(b, nb);
      return frechetDistance(x.statistics(), y.statistics());
    }
    return lowRank(a, na, b, nb, dim);
  }

  /** The SVD route of {@link #frechetDistance(double[], int, double[], int, int)}, exact for any sizes. */
  static double lowRank(double[] a, int na, double[] b, int nb, int dim) {
    double[] mu1 = columnMeans(a, na, dim);
    double[] mu2 = columnMeans(b, nb, dim);
    DMatrixRMaj d1 = centred(a, na, dim, mu1);
    DMatrixRMaj d2 = centred(b, nb, dim, mu2);
    double diff = 0;
    for (int j = 0; j < dim; j++) {
      double t = mu1[j] - mu2[j];
      diff += t * t;
    }
    double tr1 = CommonOps_DDRM.elementSum(elementSquare(d1)) / (na - 1);
    double tr2 = CommonOps_DDRM.elementSum(elementSquare(d2)) / (nb - 1);
    DMatrixRMaj m = new DMatrixRMaj(na, nb);
    CommonOps_DDRM.multTransB(d1, d2, m);
    SingularValueDecomposition_F64<DMatrixRMaj> svd = DecompositionFactory_DDRM.svd(na, nb, false, false, true);
    if (!svd.decompose(m)) {
      throw new MetricException("FID: SVD of the " + na + "x" + nb + " cross-Gram matrix did not converge");
    }
    double nuclear = 0;
    for (double sv : svd.getSingularValues()) {
      nuclear += sv;
    }
    return diff + tr1 + tr2 - 2 * nuclear / Math.sqrt((double) (na - 1) * (nb - 1));
  }

  private static double[] columnMeans(double[] x, int n, int dim) {
    double[] mu = new double[dim];
    for (int r = 0; r < n; r++) {
      for (int j = 0; j < dim; j++) {
        mu[j] += x[r * dim + j];
      }
    }
    for (int j = 0; j < dim; j++) {
      mu[j] /= n;
    }
    return mu;
  }

  private static DMatrixRMaj centred(double[] x, int n, int dim, double[] mu) {
    DMatrixRMaj d = new DMatrixRMaj(n, dim);
    for (int r = 0; r < n; r++) {
      for (int j = 0; j < dim; j++) {
        d.data[r * dim + j] = x[r * dim + j] - mu[j];
      }
    }
    return d;
  }

  private static DMatrixRMaj elementSquare(DMatrixRMaj d) {
    DMatrixRMaj s = d.copy();
    CommonOps_DDRM.elementMult(s, d);
    return s;
  }

  /** Symmetric PSD square root {@code V diag(sqrt(max(λ,0))) Vᵀ}. */
  static DMatrixRMaj symmetricSqrt(DMatrixRMaj s) {
    int d = s.numRows;
    DMatrixRMaj sym = s.copy();
    symmetrize(sym);
    Eigen e = eigenvalues(sym, true);
    DMatrixRMaj scaled = new DMatrixRMaj(d, d); // V * diag(sqrt λ)
    for (int k = 0; k < d; k++) {
      double r = Math.sqrt(Math.max(e.values[k], 0.0));
      DMatrixRMaj v = e.vectors[k];
      for (int i = 0; i < d; i++) {
        scaled.unsafe_set(i, k, v.get(i) * r);
      }
    }
    DMatrixRMaj vt = new DMatrixRMaj(d, d);
    for (int k = 0; k < d; k++) {
      DMatrixRMaj v = e.vectors[k];
      for (int i = 0; i < d; i++) {
        vt.unsafe_set(k, i, v.get(i));
      }
    }
    DMatrixRMaj out = new DMatrixRMaj(d, d);
    CommonOps_DDRM.mult(scaled, vt, out);
    symmetrize(out);
    return out;
  }

  private record Eigen(double[] values, DMatrixRMaj[] vectors) {}

  private static Eigen eigenvalues(DMatrixRMaj m, boolean vectors) {
    int d = m.numRows;
    EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(d, vectors, true);
    if (!eig.decompose(m.copy())) {
      throw new MetricException("FID: eigen-decomposition of a " + d + "x" + d + " covariance did not converge");
    }
    double[] values = new double[d];
    DMatrixRMaj[] vecs = vectors ? new DMatrixRMaj[d] : null;
    for (int i = 0; i < d; i++) {
      values[i] = eig.getEigenvalue(i).getReal();
      if (vectors) {
        vecs[i] = eig.getEigenVector(i);
      }
    }
    return new Eigen(values, vecs);
  }

  private static void symmetrize(DMatrixRMaj m) {
    int d = m.numRows;
    for (int i = 0; i < d; i++) {
      for (int j = i + 1; j < d; j++) {
        double v = 0.5 * (m.unsafe_get(i, j) + m.unsafe_get(j, i));
        m.unsafe_set(i, j, v);
        m.unsafe_set(j, i, v);
      }
    }
  }

  /**
   * Streaming mean/covariance in double: sums of x and of x xᵀ. Features of one FID set are post-ReLU averages of
   * modest size, so the one-pass form loses nothing measurable against a two-pass np.cov (checked by the golden test).
   */
  public static final class Accumulator {
    private final int dim;
    private final double[] sum;
    /** Upper triangle (i <= j) of Σ x xᵀ, row-major d×d; mirrored in {@link #statistics()}. */
    private final double[] outer;
    private long count;

    public Accumulator(int dim) {
      if (dim <= 0) {
        throw new MetricException("FID: feature dimension must be positive, got " + dim);
      }
      this.dim = dim;
      this.sum = new double[dim];
      this.outer = new double[dim * dim];
    }

    /** Adds one feature vector. */
    public void add(double[] x) {
      addBatch(x, 1);
    }

    /** Adds {@code n} feature vectors stored row-major in {@code rows} ([n][dim] flattened). */
    public void addBatch(double[] rows, int n) {
      if (rows.length != (long) n * dim) {
        throw new MetricException("FID: expected " + n + "x" + dim + " features, got " + rows.length + " values");
      }
      // Plain symmetric rank-1 updates: the inner loop is contiguous and vectorised by the JIT (several times faster
      // here than a general dense multAddTransA).
      for (int r = 0; r < n; r++) {
        int off = r * dim;
        for (int i = 0; i < dim; i++) {
          double xi = rows[off + i];
          sum[i] += xi;
          if (xi == 0) {
            continue; // post-ReLU features are often exactly 0
          }
          axpy(xi, rows, off + i, outer, i * dim + i, dim - i);
        }
      }
      count += n;
    }

    /** {@code y[yo..yo+len) += a · x[xo..xo+len)}; a small method so the JIT compiles and vectorises it on its own. */
    private static void axpy(double a, double[] x, int xo, double[] y, int yo, int len) {
      for (int k = 0; k < len; k++) {
        y[yo + k] += a * x[xo + k];
      }
    }

    /** Adds {@code n} float feature vectors ([n][dim] flattened), widened to double. */
    public void addBatch(float[] rows, int n) {
      double[] d = new double[rows.length];
      for (int i = 0; i < rows.length; i++) {
        d[i] = rows[i];
      }
      addBatch(d, n);
    }

    public long count() {
      return count;
    }

    /** Mean and unbiased covariance of everything added so far. */
    public GaussianStats statistics() {
      if (count < 2) {
        throw new MetricException("FID: need at least 2 feature vectors for a covariance, got " + count);
      }
      double[] mu = new double[dim];
      for (int j = 0; j < dim; j++) {
        mu[j] = sum[j] / count;
      }
      double[] cov = new double[dim * dim];
      for (int i = 0; i < dim; i++) {
        for (int j = i; j < dim; j++) {
          double c = (outer[i * dim + j] - count * mu[i] * mu[j]) / (count - 1);
          cov[i * dim + j] = c;
          cov[j * dim + i] = c;
        }
      }
      return new GaussianStats(dim, count, mu, cov);
    }
  }
}
