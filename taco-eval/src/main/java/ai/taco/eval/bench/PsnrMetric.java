package ai.taco.eval.bench;

/**
 * PSNR exactly as the official evaluation computes it ({@code compute_psnr} in effl-lab/TACO
 * generate_images_using_image_cap_dataset.py): {@code -10·log10(mean((x - x_hat)²))} with data range 1, the mean over
 * all 3·H·W samples, on the float reconstruction as decoded.
 */
final class PsnrMetric implements ImageMetric {

  @Override
  public String name() {
    return "psnr";
  }

  @Override
  public double compute(RgbImage original, RgbImage reconstruction) {
    if (original.width() != reconstruction.width() || original.height() != reconstruction.height()) {
      throw new BenchmarkException(
          "reconstruction is " + reconstruction.width() + "x" + reconstruction.height() + " but the original is "
              + original.width() + "x" + original.height());
    }
    float[] a = original.planes();
    float[] b = reconstruction.planes();
    double sum = 0;
    for (int i = 0; i < a.length; i++) {
      double d = (double) a[i] - b[i];
      sum += d * d;
    }
    double mse = sum / a.length;
    return mse == 0 ? Double.POSITIVE_INFINITY : -10 * Math.log10(mse);
  }
}
