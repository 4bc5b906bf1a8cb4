package ai.taco.eval.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Runs every image of a dataset through every codec operating point the way the official evaluation does
 * (effl-lab/TACO generate_images_using_image_cap_dataset.py): compress, write the bitstream to a file, take
 * {@code bpp = 8·file size / (H·W)} of the original image, read the file back, decompress, and measure the
 * reconstruction against the original. Codecs are visited one at a time (each is opened, used on all images, then
 * closed) so only one set of network weights is in memory.
 */
public final class EvalRunner {

  /** Caption modes of {@code taco eval --caption-mode}. */
  public enum CaptionMode {
    /** Each image's caption from the dataset's caption file. */
    DATASET,
    /** The empty caption "" for every image: the ablation that asks whether the caption matters. */
    EMPTY
  }

  /**
   * @param outDir where reconstructions and (if kept) bitstreams go
   * @param saveReconstructions write each reconstruction as an 8-bit PNG under {@code reconstructions/}
   * @param keepBitstreams keep each bitstream under {@code bitstreams/} (they are always written to measure the rate)
   * @param progress show a progress bar on stderr
   */
  public record Options(Path outDir, CaptionMode captionMode, boolean saveReconstructions, boolean keepBitstreams,
      boolean progress) {}

  private final Options options;

  public EvalRunner(Options options) {
    this.options = options;
  }

  /** Runs the benchmark. Every codec is closed afterwards (metrics and the caption encoder are not). */
  public EvalResults run(
      EvalDataset dataset,
      List<? extends ImageCodec> codecs,
      CaptionEncoder captions,
      List<? extends ImageMetric> metrics,
      List<? extends SetMetric> setMetrics,
      List<String> notes) {
    if (codecs.isEmpty()) {
      throw new BenchmarkException("nothing to evaluate: no checkpoint and no baseline codec");
    }
    List<EvalDataset.Item> items = dataset.items();
    List<EvalResults.ImageResult> results = new ArrayList<>();
    List<EvalResults.PointSummary> points = new ArrayList<>();
    // Features of the originals for FID/CMMD, computed once (on the first codec's pass) and reused by all codecs.
    Map<String, List<float[]>> originalFeatures = new LinkedHashMap<>();
    for (SetMetric s : setMetrics) {
      originalFeatures.put(s.name(), new ArrayList<>());
    }
    boolean anyText = codecs.stream().anyMatch(ImageCodec::usesText);
    String textSource = anyText ? captions.source() : "none (no codec reads text)";
    try (ProgressBar bar = progressBar((long) codecs.size() * items.size())) {
      for (ImageCodec codec : codecs) {
        try (codec) {
          String dirName = safe(codec.name() + "_" + codec.setting());
          Map<String, List<float[]>> reconFeatures = new LinkedHashMap<>();
          setMetrics.forEach(s -> reconFeatures.put(s.name(), new ArrayList<>()));
          double bppSum = 0;
          Map<String, Double> sums = new LinkedHashMap<>();
          for (int i = 0; i < items.size(); i++) {
            EvalDataset.Item item = items.get(i);
            if (bar != null) {
              bar.setExtraMessage(codec.name() + " " + codec.setting() + " " + item.name());
            }
            RgbImage x = RgbImage.read(item.path());
            TextEmbedding text = null;
            if (codec.usesText()) {
              String caption = options.captionMode() == CaptionMode.EMPTY ? "" : item.caption();
              text = captions.encode(item.name(), caption);
            }
            byte[] bits = codec.encode(x, text);
            Path file = options.outDir().resolve("bitstreams").resolve(dirName)
                .resolve(stem(item.name()) + "." + codec.extension());
            long bytes;
            byte[] back;
            try {
              Files.createDirectories(file.getParent());
              Files.write(file, bits);
              bytes = Files.size(file);
              back = Files.readAllBytes(file);
              if (!options.keepBitstreams()) {
                Files.delete(file);
              }
            } catch (IOException e) {
              throw new BenchmarkException("cannot write bitstream " + file + ": " + e.getMessage(), e);
            }
            RgbImage y = codec.decode(back);
            if (y.width() != x.width() || y.height() != x.height()) {
              throw new BenchmarkException(
                  codec.name() + " " + codec.setting() + " decoded " + item.name() + " as " + y.width() + "x"
                      + y.height() + " instead of " + x.width() + "x" + x.height());
            }
            double bpp = 8.0 * bytes / ((double) x.width() * x.height());
            Map<String, Double> values = new LinkedHashMap<>();
            for (ImageMetric m : metrics) {
              double v = m.compute(x, y);
              values.put(m.name(), v);
              sums.merge(m.name(), v, Double::sum);
            }
            for (SetMetric s : setMetrics) {
              List<float[]> orig = originalFeatures.get(s.name());
              if (orig.size() == i) {
                orig.add(s.features(x));
              }
              reconFeatures.get(s.name()).add(s.features(y));
            }
            if (options.saveReconstructions()) {
              y.writePng(options.outDir().resolve("reconstructions").resolve(dirName)
                  .resolve(stem(item.name()) + ".png"));
            }
            bppSum += bpp;
            results.add(new EvalResults.ImageResult(codec.name(), codec.setting(), item.name(), x.width(),
                x.height(), bytes, bpp, values, codec.usesText() ? textSource : "none"));
            if (bar != null) {
              bar.step();
            }
          }
          Map<String, Double> means = new LinkedHashMap<>();
          sums.forEach((k, v) -> means.put(k, v / items.size()));
          for (SetMetric s : setMetrics) {
            means.put(s.name(), s.distance(originalFeatures.get(s.name()), reconFeatures.get(s.name())));
          }
          points.add(new EvalResults.PointSummary(codec.name(), codec.setting(), items.size(),
              bppSum / items.size(), means));
        }
      }
    }
    deleteIfEmpty(options.outDir().resolve("bitstreams"));
    List<String> metricNames = metrics.stream().map(ImageMetric::name).toList();
    List<String> setNames = setMetrics.stream().map(SetMetric::name).toList();
    boolean captionsUsed = anyText && captions.usesCaptions() && options.captionMode() == CaptionMode.DATASET;
    List<String> allNotes = new ArrayList<>(notes);
    if (anyText && !captions.usesCaptions()) {
      allNotes.add("TACO was run WITHOUT captions: its text input was " + captions.source()
          + "; these are not the paper's caption-conditioned numbers.");
    }
    if (anyText && options.captionMode() == CaptionMode.EMPTY) {
      allNotes.add("Empty-caption ablation: every image was encoded with the caption \"\".");
    }
    EvalResults.Info info = new EvalResults.Info(dataset.name(), items.size(),
        options.captionMode().name().toLowerCase(java.util.Locale.ROOT), textSource, captionsUsed, metricNames,
        setNames, allNotes);
    return new EvalResults(info, results, points);
  }

  private ProgressBar progressBar(long total) {
    if (!options.progress()) {
      return null;
    }
    PrintStream err = System.err;
    return new ProgressBarBuilder()
        .setTaskName("taco eval")
        .setInitialMax(total)
        .setStyle(ProgressBarStyle.ASCII)
        .setConsumer(new ConsoleProgressBarConsumer(err))
        .setUpdateIntervalMillis(500)
        .build();
  }

  /** File-system-safe directory name for an operating point. */
  static String safe(String s) {
    return s.replaceAll("[^A-Za-z0-9._=-]+", "_");
  }

  static String stem(String name) {
    int dot = name.lastIndexOf('.');
    return dot < 0 ? name : name.substring(0, dot);
  }

  private static void deleteIfEmpty(Path dir) {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (var s = Files.walk(dir)) {
      if (s.noneMatch(Files::isRegularFile)) {
        ExternalCodec.deleteTree(dir);
      }
    } catch (IOException ignored) {
      // leaving an empty folder is harmless
    }
  }
}
