package ai.taco.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Constant tensors from Java data that are safe on autograd paths. Use {@link #of} instead of
 * {@code manager.create(float[], shape)} for any constant an op saves for backward (a {@code mul} mask, a
 * {@code matMul} selector or resampling matrix).
 *
 * <p>WHY: on DJL's PyTorch engine, {@code NDManager.create(float[], …)} wraps a Java direct buffer without copying;
 * only the returned Java object keeps that buffer reachable. Autograd saves the operand of mul/matMul for backward,
 * but once the returned array (or the {@code NDScope} of a {@link Scoped#step}) is closed, the garbage collector may
 * free the buffer before {@code backward()}: the gradient then reads freed memory and comes out NaN/Inf or silently
 * wrong, at random (docs/djl-traps.md; TransposedConvTest reproduces it for gS's last layer). A copy made by libtorch
 * is reference-counted by the graph, so closing the host-backed original at once is safe.
 */
public final class Constants {
  private Constants() {}

  /** A float32 tensor on {@code manager} holding {@code data} in libtorch-owned memory. */
  public static NDArray of(NDManager manager, float[] data, Shape shape) {
    try (NDArray host = manager.create(data, shape)) {
      return host.duplicate(); // libtorch's clone: its own storage, same values
    }
  }
}
