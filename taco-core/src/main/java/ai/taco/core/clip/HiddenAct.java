package ai.taco.core.clip;

import ai.taco.core.error.ClipException;
import ai.taco.core.nn.Scalars;

import ai.djl.ndarray.NDArray;

/** The MLP activations a CLIP {@code config.json} may name in {@code hidden_act} (transformers ACT2FN). */
enum HiddenAct {
  /** {@code x * sigmoid(1.702 x)}: OpenAI's CLIP (every openai/clip-* checkpoint). */
  QUICK_GELU,
  /** Exact GELU {@code x * Phi(x)} (some OpenCLIP/LAION conversions). */
  GELU;

  /** The sigmoid slope of quick_gelu (transformers QuickGELUActivation, from OpenAI's CLIP). */
  private static final float QUICK_GELU_SLOPE = 1.702f;

  static HiddenAct of(String name) {
    switch (name) {
      case "quick_gelu":
        return QUICK_GELU;
      case "gelu":
        return GELU;
      default:
        throw new ClipException("config: hidden_act \"" + name + "\" is not supported (quick_gelu or gelu)");
    }
  }

  NDArray apply(NDArray x) {
    if (this == QUICK_GELU) {
      return x.mul(ai.djl.nn.Activation.sigmoid(Scalars.mul(x, QUICK_GELU_SLOPE)));
    }
    // 0.5 x (1 + erf(x / sqrt 2)), torch's default (non-tanh) GELU.
    return Scalars.mul(x.mul(Scalars.mul(x, 1 / Math.sqrt(2)).erf().add(1f)), 0.5);
  }
}
