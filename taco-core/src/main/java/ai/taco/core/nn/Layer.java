package ai.taco.core.nn;

import ai.djl.ndarray.NDArray;

/** One step of a sequential transform: an image-like tensor in, one out. */
@FunctionalInterface
public interface Layer {
  NDArray forward(NDArray x);

  /**
   * {@link #forward}, where the caller reads {@code x} no more and will close it: the layer may write its result into
   * {@code x}'s memory (a residual sum, {@link ResidualBottleneck}). Only for a map no one else holds: never the
   * caller's input or a view of a larger map.
   */
  default NDArray forwardConsuming(NDArray x) {
    return forward(x);
  }

  /** ReLU as a layer (the official Sequentials hold nn.ReLU modules, which own no parameters but take an index). */
  Layer RELU = x -> ai.djl.nn.Activation.relu(x);
}
