package ai.taco.eval.bench;

/** A full-reference quality metric computed per image (PSNR, MS-SSIM, LPIPS). */
public interface ImageMetric extends AutoCloseable {

  /** Column name in the results (e.g. "psnr"). */
  String name();

  double compute(RgbImage original, RgbImage reconstruction);

  @Override
  default void close() {}
}
