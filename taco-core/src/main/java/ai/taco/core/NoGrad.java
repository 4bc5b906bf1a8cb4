package ai.taco.core;

import ai.djl.pytorch.jni.JniUtils;

/**
 * Autograd off on the calling thread for one codec call, as {@code torch.no_grad()}. libtorch's switch is per thread
 * and on by default in every thread but the one DJL's engine started on, so without this a codec called from a pool
 * thread could not take its in-place activations and fused bfloat16 convolutions (they need autograd off), and a
 * bf16 call there gave other bytes than the same call on the main thread. Values do not change otherwise: the codec's
 * parameters require no gradient, so autograd records nothing either way.
 */
final class NoGrad implements AutoCloseable {
  private final boolean previous;

  NoGrad() {
    previous = JniUtils.isGradMode();
    if (previous) {
      JniUtils.setGradMode(false);
    }
  }

  @Override
  public void close() {
    if (previous) {
      JniUtils.setGradMode(true);
    }
  }
}
