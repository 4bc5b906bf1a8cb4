package ai.taco.core;

import ai.taco.core.io.HostTensor;
import ai.taco.core.io.ImageException;

/** Value checks on what callers hand to the codec: non-finite or absurd values are refused before any work. */
final class InputChecks {
  /**
   * Images are [0, 1]; unclamped reconstructions stray a little outside. Values beyond [-1, 2] are not an image in
   * this range (a 0-255 image passed unscaled, garbage) and would drive the transforms far outside what they were
   * trained on.
   */
  static final float IMAGE_MIN = -1f;

  static final float IMAGE_MAX = 2f;

  /**
   * CLIP's text features are layer-normalised hidden states, a few tens at most; beyond this they are garbage and
   * could overflow float32 in the cross-attention's products.
   */
  static final float MAX_ABS_CAPTION_FEATURE = 1e4f;

  private InputChecks() {}

  static void requireImage(HostTensor image) {
    float[] v = image.toFloatArray();
    for (int i = 0; i < v.length; i++) {
      if (!Float.isFinite(v[i])) {
        throw new ImageException("image holds a non-finite value (" + v[i] + ") at element " + i);
      }
      if (v[i] < IMAGE_MIN || v[i] > IMAGE_MAX) {
        throw new ImageException("image value " + v[i] + " at element " + i + " is outside [" + IMAGE_MIN + ", "
            + IMAGE_MAX + "]: images are expected in [0, 1]");
      }
    }
  }

  static void requireCaption(HostTensor features) {
    float[] v = features.toFloatArray();
    for (int i = 0; i < v.length; i++) {
      if (!Float.isFinite(v[i])) {
        throw new TacoException("caption features hold a non-finite value (" + v[i] + ") at element " + i);
      }
      if (Math.abs(v[i]) > MAX_ABS_CAPTION_FEATURE) {
        throw new TacoException("caption feature " + v[i] + " at element " + i + " is beyond +-"
            + MAX_ABS_CAPTION_FEATURE + ": not CLIP text features");
      }
    }
  }
}
