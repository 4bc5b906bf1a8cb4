package ai.taco.eval.bench;

import java.util.List;
import java.util.Map;

/** Everything one {@code taco eval} run measured. */
public record EvalResults(Info info, List<ImageResult> images, List<PointSummary> points) {

  /**
   * How the run was made.
   *
   * @param captionMode "dataset" (each image's caption) or "empty" (the empty-caption ablation)
   * @param textSource where TACO's text embeddings came from ({@link CaptionEncoder#source()})
   * @param captionsUsed false when the text condition did not depend on the captions (zero fallback)
   * @param metrics per-image metric columns, in order
   * @param setMetrics per-set metric columns (fid, cmmd), in order
   * @param notes anything a reader must know to interpret the numbers
   */
  public record Info(String dataset, int images, String captionMode, String textSource, boolean captionsUsed,
      List<String> metrics, List<String> setMetrics, List<String> notes) {}

  /** One image through one codec operating point. {@code bpp = 8·bytes / (width·height)} of the original. */
  public record ImageResult(String codec, String setting, String image, int width, int height, long bytes,
      double bpp, Map<String, Double> metrics, String textSource) {}

  /** Means over the set for one operating point, plus the set metrics. */
  public record PointSummary(String codec, String setting, int images, double bpp, Map<String, Double> metrics) {}
}
