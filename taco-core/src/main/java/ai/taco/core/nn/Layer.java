package ai.taco.core.nn;

import ai.djl.ndarray.NDArray;

/** One step of a sequential transform: an image-like tensor in, one out. */
@FunctionalInterface
public interface Layer {
  NDArray forward(NDArray x);

  /** ReLU as a layer (the official Sequentials hold nn.ReLU modules, which own no parameters but take an index). */
  Layer RELU = x -> ai.djl.nn.Activation.relu(x);
}
