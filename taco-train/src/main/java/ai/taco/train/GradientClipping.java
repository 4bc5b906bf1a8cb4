package ai.taco.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import java.util.Collection;

/** Global-norm gradient clipping with the semantics of {@code torch.nn.utils.clip_grad_norm_} (norm type 2). */
public final class GradientClipping {

  /** The epsilon torch adds to the total norm before dividing (clip_grad_norm_ source). */
  static final double NORM_EPS = 1e-6;

  private GradientClipping() {}

  /** The 2-norm of all gradients taken together (the 2-norm of the per-tensor 2-norms, as torch computes it). */
  public static double totalNorm(Collection<NDArray> gradients) {
    double sumSquares = 0;
    try (NDScope scope = new NDScope()) {
      for (NDArray g : gradients) {
        double n = g.norm().getFloat();
        sumSquares += n * n;
      }
    }
    return Math.sqrt(sumSquares);
  }

  /**
   * Scales all gradients in place by {@code min(1, maxNorm / (total + 1e-6))} where total is the 2-norm of all
   * gradients taken together (the 2-norm of the per-tensor 2-norms, as torch computes it).
   *
   * @param gradients gradient arrays that alias the parameters' gradient storage
   * @return the total norm before clipping
   */
  public static double clipGradNorm(Collection<NDArray> gradients, double maxNorm) {
    if (!(maxNorm > 0)) {
      throw new IllegalArgumentException("maxNorm must be > 0, got " + maxNorm);
    }
    double total = totalNorm(gradients);
    double coef = Math.min(1.0, maxNorm / (total + NORM_EPS));
    if (coef < 1.0) {
      for (NDArray g : gradients) {
        g.muli((float) coef);
      }
    }
    return total;
  }
}
