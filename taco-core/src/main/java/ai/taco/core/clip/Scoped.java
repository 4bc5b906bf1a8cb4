package ai.taco.core.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

/** Keeps a forward pass's outputs and frees its intermediates. */
final class Scoped {
  private Scoped() {}

  /**
   * Moves {@code outputs} (created inside {@code inner}) out of it: attached to {@code owner} and registered with the
   * enclosing {@link NDScope}, if any, so a caller's scope still frees them. Call just before closing {@code inner}.
   * Closing intermediates does not break autograd: libtorch's graph holds its own references.
   */
  static void keep(NDScope inner, NDManager owner, NDArray... outputs) {
    for (NDArray a : outputs) {
      if (a != null) {
        NDScope.unregister(a);
        a.attach(owner);
      }
    }
  }

  /** After the inner scope is closed: hands the outputs to the caller's scope. */
  static void registerOuter(NDArray... outputs) {
    for (NDArray a : outputs) {
      if (a != null) {
        NDScope.register(a);
      }
    }
  }
}
