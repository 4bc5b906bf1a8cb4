package ai.taco.core;

import java.util.Objects;

/**
 * How {@link TacoCodec#decompress(ai.taco.core.bitstream.CodedImage, DecodeOptions)} returns the image.
 *
 * @param clamp clamp the reconstruction to [0,1] (the default). Without it, the result is the synthesis output cropped
 *     to H×W, exactly the official {@code net.decompress(...)["x_hat"][..., :H, :W]} on which the official evaluation
 *     computes PSNR, MS-SSIM and LPIPS; values may then lie outside [0,1].
 * @param listener told the coding stages (profiling; {@link StageListener#NONE} by default)
 */
public record DecodeOptions(boolean clamp, StageListener listener) {
  /** Clamped to [0,1], no listener. */
  public static final DecodeOptions DEFAULT = new DecodeOptions(true, StageListener.NONE);

  public DecodeOptions {
    Objects.requireNonNull(listener, "listener");
  }

  /** The unclamped synthesis output, no listener. */
  public static DecodeOptions unclamped() {
    return DEFAULT.withClamp(false);
  }

  public DecodeOptions withClamp(boolean c) {
    return new DecodeOptions(c, listener);
  }

  public DecodeOptions withListener(StageListener l) {
    return new DecodeOptions(clamp, l);
  }
}
