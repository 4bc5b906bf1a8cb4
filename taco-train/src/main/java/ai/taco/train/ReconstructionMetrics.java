package ai.taco.train;

import ai.taco.core.tensor.HostTensor;

/**
 * The image-quality metrics of the per-epoch test ({@link CodecEvaluator}): PSNR, MS-SSIM and LPIPS of a decoded
 * image against its original. An interface so that training does not depend on the evaluation module; the {@code taco}
 * application passes its metric implementations (the same ones {@code taco eval} reports).
 */
public interface ReconstructionMetrics {

  /** One image's values; MS-SSIM is NaN for images too small for its five scales, LPIPS NaN without weights. */
  record Values(double psnr, double msSsim, double lpips) {}

  /**
   * @param original {@code [1, 3, H, W]} in [0, 1]
   * @param reconstruction {@code [1, 3, H, W]}, unclamped as the official test measures it
   */
  Values measure(HostTensor original, HostTensor reconstruction);
}
