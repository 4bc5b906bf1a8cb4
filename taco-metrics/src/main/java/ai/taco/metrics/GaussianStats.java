package ai.taco.metrics;

/**
 * Mean and covariance of a set of feature vectors, in double precision: the statistics FID compares.
 *
 * @param dim feature dimension d
 * @param count number of vectors
 * @param mean the mean, length d
 * @param covariance the unbiased covariance (divided by count-1, like {@code np.cov}), row-major d×d
 */
public record GaussianStats(int dim, long count, double[] mean, double[] covariance) {
  public GaussianStats {
    if (mean.length != dim || covariance.length != (long) dim * dim) {
      throw new MetricException("GaussianStats: mean/covariance do not match dimension " + dim);
    }
  }
}
