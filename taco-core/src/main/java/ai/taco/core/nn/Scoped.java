package ai.taco.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.util.function.Supplier;

/**
 * Keeps a forward pass's outputs and frees its intermediates. Closing intermediates does not break autograd:
 * libtorch's graph holds its own references to what backward needs.
 */
public final class Scoped {
  private Scoped() {}

  /**
   * Runs one step in its own {@link NDScope}: its intermediates are freed as soon as it returns (not when the caller's
   * scope ends, which for a whole transform would keep gigabytes of full-resolution feature maps alive), and the
   * result is handed to the caller's scope, if any.
   */
  public static NDArray step(Supplier<NDArray> step) {
    NDArray out;
    try (NDScope inner = new NDScope()) {
      out = step.get();
      NDScope.unregister(out);
    }
    NDScope.register(out);
    return out;
  }

  /** Frees {@code consumed} when a step replaced it with {@code next} and it is not the caller's {@code input}. */
  public static void release(NDArray consumed, NDArray next, NDArray input) {
    if (consumed != next && consumed != input) {
      consumed.close();
    }
  }

  /**
   * Moves {@code outputs} (created inside {@code inner}) out of it: attached to {@code owner} and registered with the
   * enclosing {@link NDScope}, if any, so a caller's scope still frees them. Call just before closing {@code inner}.
   */
  public static void keep(NDScope inner, NDManager owner, NDArray... outputs) {
    for (NDArray a : outputs) {
      if (a != null) {
        NDScope.unregister(a);
        a.attach(owner);
      }
    }
  }

  /** After the inner scope is closed: hands the outputs to the caller's scope. */
  public static void registerOuter(NDArray... outputs) {
    for (NDArray a : outputs) {
      if (a != null) {
        NDScope.register(a);
      }
    }
  }
}
