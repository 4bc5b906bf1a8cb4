package ai.taco.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Scalar operands that are safe on autograd paths. Use these instead of {@code x.mul(2f)} / {@code x.div(2f)}
 * wherever a gradient may flow.
 *
 * <p>WHY: on DJL's PyTorch engine, {@code NDArray.mul(Number)} (and div) wraps the number in a tensor made over a
 * Java direct buffer, runs the op and closes the wrapper at once. Autograd keeps that scalar for the backward pass of
 * mul/div, but its memory belongs to the buffer, which the garbage collector may free before {@code backward()}:
 * gradients then read freed memory and come out NaN/Inf or silently wrong, at random (reproduced by calling
 * System.gc() during training; see taco-train's TrainingUnderGcTest). A scalar made by {@code full} is allocated and
 * reference-counted by libtorch, so autograd keeps it alive. Additions and subtractions do not save their operand and
 * are safe with plain numbers.
 */
public final class Scalars {
  private Scalars() {}

  /** A float32 0-dim tensor on {@code like}'s manager holding {@code value} (libtorch-owned memory). */
  public static NDArray of(NDArray like, double value) {
    return like.getManager().full(new Shape(), (float) value, DataType.FLOAT32).toType(like.getDataType(), false);
  }

  /** {@code x * value}, safe to differentiate. */
  public static NDArray mul(NDArray x, double value) {
    return x.mul(of(x, value));
  }

  /** {@code x / value}, safe to differentiate. */
  public static NDArray div(NDArray x, double value) {
    return x.div(of(x, value));
  }
}
