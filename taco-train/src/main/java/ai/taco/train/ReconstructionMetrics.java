package ai.taco.train;

import ai.djl.ndarray.NDManager;
import ai.taco.core.tensor.HostTensor;
import ai.taco.metrics.ImageTooSmallException;
import ai.taco.metrics.Lpips;
import ai.taco.metrics.MsSsim;
import ai.taco.metrics.Psnr;

/**
 * The image-quality metrics of the per-epoch test ({@link CodecEvaluator}): PSNR, MS-SSIM and LPIPS of a decoded
 * image against its original. {@link #standard} measures them with taco-metrics, as {@code taco eval} reports them; an
 * application may pass its own.
 */
public interface ReconstructionMetrics {

  /** One image's values; MS-SSIM is NaN for images too small for its five scales, LPIPS NaN without weights. */
  record Values(double psnr, double msSsim, double lpips) {}

  /**
   * @param original {@code [1, 3, H, W]} in [0, 1]
   * @param reconstruction {@code [1, 3, H, W]}, unclamped as the official test measures it
   */
  Values measure(HostTensor original, HostTensor reconstruction);

  /**
   * PSNR, MS-SSIM (NaN for images too small for its five scales, as the official test skips nothing) and LPIPS (NaN
   * when {@code lpips} is null), with the implementations {@code taco eval} uses.
   */
  static ReconstructionMetrics standard(Lpips lpips, Lpips.InputConvention convention) {
    return (original, reconstruction) -> {
      float[] a = original.toFloatArray();
      float[] b = reconstruction.toFloatArray();
      int h = (int) original.shape()[2];
      int w = (int) original.shape()[3];
      double msSsim;
      try {
        msSsim = MsSsim.msSsim(a, b, 1, 3, h, w);
      } catch (ImageTooSmallException e) {
        msSsim = Double.NaN;
      }
      double lp = Double.NaN;
      if (lpips != null) {
        try (NDManager m = NDManager.newBaseManager()) {
          lp = lpips.distance(original.toNDArray(m), reconstruction.toNDArray(m), convention)[0];
        }
      }
      return new Values(Psnr.psnr(a, b), msSsim, lp);
    };
  }
}
