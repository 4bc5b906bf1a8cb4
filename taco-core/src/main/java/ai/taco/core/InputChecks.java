package ai.taco.core;

import ai.djl.ndarray.types.DataType;
import ai.taco.core.error.ImageException;
import ai.taco.core.error.TacoException;
import ai.taco.core.tensor.HostTensor;
import java.nio.FloatBuffer;

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

  /**
   * Refuses non-finite values and values far outside [0, 1]. A UINT8 image (0..255, taken as {@code v / 255}) is in
   * [0, 1] by construction: nothing to check, and no float copy of it is made.
   */
  static void requireImage(HostTensor image) {
    if (image.dataType() == DataType.UINT8) {
      return;
    }
    FloatBuffer v = values(image);
    for (int i = 0; i < v.limit(); i++) {
      float x = v.get(i);
      if (!Float.isFinite(x)) {
        throw new ImageException("image holds a non-finite value (" + x + ") at element " + i);
      }
      if (x < IMAGE_MIN || x > IMAGE_MAX) {
        throw new ImageException("image value " + x + " at element " + i + " is outside [" + IMAGE_MIN + ", "
            + IMAGE_MAX + "]: images are expected in [0, 1]");
      }
    }
  }

  static void requireCaption(HostTensor features) {
    FloatBuffer v = values(features);
    for (int i = 0; i < v.limit(); i++) {
      float x = v.get(i);
      if (!Float.isFinite(x)) {
        throw new TacoException("caption features hold a non-finite value (" + x + ") at element " + i);
      }
      if (Math.abs(x) > MAX_ABS_CAPTION_FEATURE) {
        throw new TacoException("caption feature " + x + " at element " + i + " is beyond +-"
            + MAX_ABS_CAPTION_FEATURE + ": not CLIP text features");
      }
    }
  }

  /** The values as float32, read in place for a float32 tensor (a large image is not copied just to be checked). */
  private static FloatBuffer values(HostTensor t) {
    return t.toFloat32().data().asFloatBuffer();
  }
}
