package ai.taco.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Scalar operands that are safe on autograd paths.
 *
 * <p>WHY: on the PyTorch engine, {@code x.mul(2f)} (any {@code NDArray op(Number)}) wraps the number in a tensor made
 * with {@code torch::from_blob} over a Java direct ByteBuffer, runs the op and closes that tensor at once. Autograd
 * keeps the scalar for the backward pass of mul/div, but its memory belongs to the ByteBuffer, which the garbage
 * collector may free before {@code backward()}: gradients then read freed memory and come out NaN/Inf or wrong, at
 * random (reproduced by calling System.gc() during training). A scalar made by {@code full} is allocated by libtorch
 * and reference-counted, so autograd keeps it alive.
 */
final class Scalars {

  private Scalars() {}

  /** A float32 0-dim tensor on {@code like}'s manager holding {@code value} (libtorch-owned memory). */
  static NDArray of(NDArray like, double value) {
    return like.getManager().full(new Shape(), (float) value, DataType.FLOAT32);
  }

  /** {@code x * value}, safe to differentiate. */
  static NDArray mul(NDArray x, double value) {
    return x.mul(of(x, value));
  }

  /** {@code x / value}, safe to differentiate. */
  static NDArray div(NDArray x, double value) {
    return x.div(of(x, value));
  }
}
