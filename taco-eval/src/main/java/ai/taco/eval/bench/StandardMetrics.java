package ai.taco.eval.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The paper's metrics, opened from the weights the user has: PSNR and MS-SSIM always, LPIPS with AlexNet-LPIPS
 * weights, FID with pytorch-fid InceptionV3 weights, CMMD with a CLIP vision tower. What is skipped is said in
 * {@link #notes()}.
 */
public final class StandardMetrics implements AutoCloseable {

  private final List<ImageMetric> imageMetrics;
  private final List<SetMetric> setMetrics;
  private final List<String> notes;

  private StandardMetrics(List<ImageMetric> imageMetrics, List<SetMetric> setMetrics, List<String> notes) {
    this.imageMetrics = List.copyOf(imageMetrics);
    this.setMetrics = List.copyOf(setMetrics);
    this.notes = List.copyOf(notes);
  }

  /** Each argument may be null: that metric is then skipped (and noted). */
  public static StandardMetrics open(Path lpipsWeights, Path inceptionWeights, Path clipDir) {
    List<ImageMetric> image = new ArrayList<>();
    List<SetMetric> set = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    image.add(new PsnrMetric());
    notes.add("MS-SSIM: not yet wired in this build.");
    if (lpipsWeights != null) {
      throw new BenchmarkException("LPIPS is not yet available in this build");
    }
    notes.add("LPIPS skipped: no --lpips-weights.");
    if (inceptionWeights != null) {
      throw new BenchmarkException("FID is not yet available in this build");
    }
    notes.add("FID skipped: no --inception weights.");
    if (clipDir != null) {
      throw new BenchmarkException("CMMD is not yet available in this build");
    }
    notes.add("CMMD skipped: no --cmmd-clip model.");
    return new StandardMetrics(image, set, notes);
  }

  public List<ImageMetric> imageMetrics() {
    return imageMetrics;
  }

  public List<SetMetric> setMetrics() {
    return setMetrics;
  }

  public List<String> notes() {
    return notes;
  }

  @Override
  public void close() {
    for (ImageMetric m : imageMetrics) {
      m.close();
    }
    for (SetMetric m : setMetrics) {
      m.close();
    }
  }
}
