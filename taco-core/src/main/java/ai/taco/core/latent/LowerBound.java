package ai.taco.core.latent;

import ai.djl.ndarray.NDArray;

/**
 * {@code max(x, bound)} with CompressAI's {@code LowerBound} gradient rule: the gradient passes where {@code x >= bound}
 * or where the upstream gradient is negative (it pushes x up towards the feasible region), and is zero elsewhere.
 *
 * <p>DJL has no custom autograd functions, so the sign of the upstream gradient cannot be read during backward. The
 * callers know it analytically instead, because TACO only uses the bounded values inside a rate term {@code -Σ log p}
 * with positive weight; they pass the set of elements whose upstream gradient is negative as {@code negativeUpstream}.
 * The forward value is exactly {@code max(x, bound)}.
 */
final class LowerBound {
  private LowerBound() {}

  /**
   * @param negativeUpstream boolean array, true where the upstream gradient is known to be negative; null means
   *     "everywhere" (the gradient then passes unchanged)
   */
  static NDArray apply(NDArray x, float bound, NDArray negativeUpstream) {
    // Built unconditionally: DJL's hasGradient() is false for non-leaf arrays, so it cannot tell whether x is tracked.
    NDArray bounded = x.maximum(bound);
    // value: max(x, b) + 0 exactly; gradient: 1 where passing, 0 elsewhere.
    NDArray identity = x.sub(x.stopGradient());
    if (negativeUpstream != null) {
      NDArray pass = x.stopGradient().gte(bound).logicalOr(negativeUpstream).toType(x.getDataType(), false);
      identity = identity.mul(pass);
    }
    return bounded.stopGradient().add(identity);
  }
}
