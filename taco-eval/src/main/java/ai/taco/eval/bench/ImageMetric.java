package ai.taco.eval.bench;

/** A full-reference quality metric computed per image (PSNR, MS-SSIM, LPIPS). */
public interface ImageMetric extends AutoCloseable {

  /** Column name in the results (e.g. "psnr"). */
  String name();

  /** Whether larger values are better (for the plot's axis label only). */
  boolean higherIsBetter();

  double compute(RgbImage original, RgbImage reconstruction);

  @Override
  default void close() {}
}
