package ai.taco.eval.bench;

import ai.taco.core.CaptionEncoder;
import ai.taco.core.tensor.HostTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Runs every image of a dataset through every codec operating point the way the official evaluation does
 * (effl-lab/TACO generate_images_using_image_cap_dataset.py): compress, write the bitstream to a file, take
 * {@code bpp = 8·file size / (H·W)} of the original image, read the file back, decompress, and measure the
 * reconstruction against the original. Codecs are visited one at a time (each is opened, used on all images, then
 * closed) so only one set of network weights is in memory.
 *
 * <p>Results are recorded as they arrive ({@link PerImageCsv}, {@link FeatureFile}) so that a run can be resumed
 * ({@link Options#resume()}) after an interruption without recomputing finished images.
 */
public final class EvalRunner {

  /** Caption modes of {@code taco eval --caption-mode}. */
  public enum CaptionMode {
    /** Each image's caption from the dataset's caption file. */
    DATASET,
    /** The empty caption "" for every image: the ablation that asks whether the caption matters. */
    EMPTY
  }

  /** What PSNR, MS-SSIM and LPIPS are computed on ({@code taco eval --metrics-on}). */
  public enum MetricsOn {
    /**
     * The decoder's float output as it is (TACO: not clamped to [0,1]): what the official evaluation measures
     * ({@code compute_psnr(x, x_hat)} etc. on {@code net.decompress(...)["x_hat"]} cropped, before saving).
     */
    FLOAT,
    /**
     * The reconstruction as saved to an 8-bit PNG by the official code ({@code torchvision.utils.save_image}) and
     * read back ({@link RgbImage#asSaveImagePng()}): what metrics computed later from the saved figures give.
     */
    PNG8
  }

  /**
   * @param outDir where per_image.csv, the features of the set metrics, reconstructions and (if kept) bitstreams go
   * @param metricsOn what the per-image metrics are computed on
   * @param saveReconstructions write each reconstruction as an 8-bit PNG under {@code reconstructions/} (as the
   *     official {@code save_image} writes it)
   * @param keepBitstreams keep each bitstream under {@code bitstreams/} (they are always written to measure the rate)
   * @param progress report progress through the {@link #withProgress} reporter, if one was given
   * @param resume keep the results an earlier run of the same configuration recorded in {@code outDir} and compute
   *     only the missing (image, operating point) pairs; otherwise start per_image.csv and the features afresh
   */
  public record Options(Path outDir, CaptionMode captionMode, MetricsOn metricsOn, boolean saveReconstructions,
      boolean keepBitstreams, boolean progress, boolean resume) {

    /** A fresh run with metrics on the float reconstruction. */
    public Options(Path outDir, CaptionMode captionMode, boolean saveReconstructions, boolean keepBitstreams,
        boolean progress) {
      this(outDir, captionMode, MetricsOn.FLOAT, saveReconstructions, keepBitstreams, progress, false);
    }
  }

  /** Folder of the set metrics' per-image features: {@code features/<metric>/<point>.f32|.txt} ({@link FeatureFile}). */
  public static final String FEATURES_DIR = "features";

  /** Feature-file stem of the originals (operating points are {@code <codec>_<setting>}, always with a '_'). */
  static final String ORIGINALS = "original";

  /**
   * Computes an operating point's pending pairs elsewhere (e.g. as a cluster job) with {@link #evaluatePair}; the
   * runner then records them exactly as if it had computed them itself, in dataset order.
   */
  public interface PairEvaluator {
    /**
     * @param pointIndex the codec's index in the list given to {@link #run}
     * @param pending the images of this point not recorded yet, in dataset order
     * @param originalsNeeded names of the pending images whose originals' set-metric features are not recorded yet
     * @return one outcome per pending image, keyed by image name, with the originals' features where needed
     */
    Map<String, PairOutcome> evaluate(int pointIndex, ImageCodec codec, List<EvalDataset.Item> pending,
        Set<String> originalsNeeded, CaptionEncoder captions, String textSource,
        List<? extends ImageMetric> metrics, List<? extends SetMetric> setMetrics);
  }

  /**
   * Progress of a run, as the application shows it (the command line: a bar on a terminal, else log lines). An
   * interface so that this library carries no terminal code.
   */
  public interface Progress extends AutoCloseable {
    /** Text shown after the counts (the current codec, setting and image). */
    void setExtraMessage(String message);

    /** One more unit done. */
    void step();

    @Override
    void close();

    /** Starts the report of {@code total} {@code unit}s of a {@code task}, {@code initial} of them already done. */
    interface Reporter {
      Progress start(String task, long total, long initial, String unit);
    }
  }

  private final Options options;
  private final Consumer<EvalResults.ImageResult> afterEachResult;
  private PairEvaluator pairEvaluator;
  private Progress.Reporter progress;

  public EvalRunner(Options options) {
    this(options, r -> {});
  }

  /**
   * @param afterEachResult called after each new result has been recorded (CSV row and features written and
   *     flushed); an exception it throws stops the run exactly where a crash would
   */
  public EvalRunner(Options options, Consumer<EvalResults.ImageResult> afterEachResult) {
    this.options = options;
    this.afterEachResult = afterEachResult;
  }

  /** Lets {@code evaluator} compute the pairs (this runner still records them and builds the summary). */
  public EvalRunner withPairEvaluator(PairEvaluator evaluator) {
    this.pairEvaluator = evaluator;
    return this;
  }

  /** Reports progress through {@code reporter} when {@link Options#progress()} is set (without one: silent). */
  public EvalRunner withProgress(Progress.Reporter reporter) {
    this.progress = reporter;
    return this;
  }

  public Options options() {
    return options;
  }

  /**
   * Runs the benchmark: every (image, operating point) pair not yet recorded is computed and recorded at once (its
   * CSV row flushed, its set-metric features appended), so an interrupted run loses at most the pair in flight. The
   * summary is built from all recorded pairs. Every codec is closed afterwards (metrics and the caption encoder are
   * not); a point whose images are all recorded is not even opened.
   */
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
    List<String> metricNames = metrics.stream().map(ImageMetric::name).toList();
    List<String> setNames = setMetrics.stream().map(SetMetric::name).toList();
    Map<String, ImageCodec> points = new LinkedHashMap<>();
    Set<String> dirs = new HashSet<>();
    for (ImageCodec c : codecs) {
      if (points.put(pointKey(c.name(), c.setting()), c) != null || !dirs.add(pointDir(c))) {
        throw new BenchmarkException("two operating points are both named '" + c.name() + " " + c.setting() + "'"
            + " (up to characters not allowed in file names): their results could not be told apart");
      }
    }
    Path out = options.outDir();
    try {
      Files.createDirectories(out);
    } catch (IOException e) {
      throw new BenchmarkException("cannot create " + out + ": " + e.getMessage(), e);
    }
    Path csvFile = out.resolve(ResultsWriter.PER_IMAGE_CSV);
    // (point, image) -> result: what an earlier run recorded, then everything.
    Map<String, Map<String, EvalResults.ImageResult>> recorded = new LinkedHashMap<>();
    points.keySet().forEach(k -> recorded.put(k, new LinkedHashMap<>()));
    List<AutoCloseable> open = new ArrayList<>();
    try {
      Map<String, FeatureFile> originals = new LinkedHashMap<>();
      Map<String, Map<String, FeatureFile>> reconFeatures = new LinkedHashMap<>();
      for (String s : setNames) {
        originals.put(s, track(open, featureFile(s, ORIGINALS)));
      }
      for (Map.Entry<String, ImageCodec> p : points.entrySet()) {
        Map<String, FeatureFile> f = new LinkedHashMap<>();
        for (String s : setNames) {
          f.put(s, track(open, featureFile(s, pointDir(p.getValue()))));
        }
        reconFeatures.put(p.getKey(), f);
      }
      PerImageCsv csv = track(open, options.resume()
          ? resumeCsv(csvFile, metricNames, items, recorded, reconFeatures)
          : PerImageCsv.create(csvFile, metricNames));

      boolean anyText = codecs.stream().anyMatch(ImageCodec::usesText);
      String textSource = anyText ? captions.source() : "none (no codec reads text)";
      long already = recorded.values().stream().mapToLong(Map::size).sum();
      try (Progress bar = progressBar((long) codecs.size() * items.size(), already)) {
        int pointIndex = 0;
        for (Map.Entry<String, ImageCodec> p : points.entrySet()) {
          Map<String, EvalResults.ImageResult> done = recorded.get(p.getKey());
          try (ImageCodec codec = p.getValue()) {
            Map<String, PairOutcome> computed = pairEvaluator == null ? null
                : evaluateElsewhere(pointIndex, codec, items, done, captions, textSource, metrics, setMetrics,
                    originals);
            pointIndex++;
            for (EvalDataset.Item item : items) {
              if (done.containsKey(item.name())) {
                continue;
              }
              if (bar != null) {
                bar.setExtraMessage(codec.name() + " " + codec.setting() + " " + item.name());
              }
              PairOutcome o = computed != null ? computed.get(item.name())
                  : evaluatePair(codec, item, captions, textSource, metrics, setMetrics,
                      originalsNeeded(item, setMetrics, originals));
              if (o == null) {
                throw new BenchmarkException("no result for " + codec.name() + " " + codec.setting() + ", "
                    + item.name() + " from the distributed evaluation");
              }
              EvalResults.ImageResult r = record(o, item, setMetrics, originals, reconFeatures.get(p.getKey()));
              csv.write(r);
              done.put(item.name(), r);
              afterEachResult.accept(r);
              if (bar != null) {
                bar.step();
              }
            }
          }
        }
      }
      // Originals' features are appended before any pair of their image is recorded; this only finds work when
      // original.* was removed or damaged after the pairs were recorded.
      for (SetMetric s : setMetrics) {
        FeatureFile orig = originals.get(s.name());
        for (EvalDataset.Item item : items) {
          if (!orig.has(item.name())) {
            orig.append(item.name(), s.features(RgbImage.read(item.path())));
          }
        }
      }
      deleteIfEmpty(out.resolve("bitstreams"));
      return results(dataset, points, recorded, metrics, setMetrics, originals, reconFeatures, captions, anyText,
          textSource, notes);
    } finally {
      closeAll(open);
    }
  }

  private static Set<String> originalsNeeded(EvalDataset.Item item, List<? extends SetMetric> setMetrics,
      Map<String, FeatureFile> originals) {
    Set<String> needed = new HashSet<>();
    for (SetMetric s : setMetrics) {
      if (!originals.get(s.name()).has(item.name())) {
        needed.add(s.name());
      }
    }
    return needed;
  }

  /** One point's pending pairs through {@link #pairEvaluator}. */
  private Map<String, PairOutcome> evaluateElsewhere(int pointIndex, ImageCodec codec, List<EvalDataset.Item> items,
      Map<String, EvalResults.ImageResult> done, CaptionEncoder captions, String textSource,
      List<? extends ImageMetric> metrics, List<? extends SetMetric> setMetrics, Map<String, FeatureFile> originals) {
    List<EvalDataset.Item> pending = new ArrayList<>();
    Set<String> needOriginals = new HashSet<>();
    for (EvalDataset.Item item : items) {
      if (!done.containsKey(item.name())) {
        pending.add(item);
        if (!originalsNeeded(item, setMetrics, originals).isEmpty()) {
          needOriginals.add(item.name());
        }
      }
    }
    if (pending.isEmpty()) {
      return Map.of();
    }
    return pairEvaluator.evaluate(pointIndex, codec, pending, needOriginals, captions, textSource, metrics,
        setMetrics);
  }

  /** Appends a pair's features to the run's feature files (originals only where not yet recorded). */
  private static EvalResults.ImageResult record(PairOutcome o, EvalDataset.Item item,
      List<? extends SetMetric> setMetrics, Map<String, FeatureFile> originals, Map<String, FeatureFile> features) {
    for (SetMetric s : setMetrics) {
      FeatureFile orig = originals.get(s.name());
      float[] of = o.originalFeatures().get(s.name());
      if (of != null && !orig.has(item.name())) {
        orig.append(item.name(), of);
      }
      float[] rf = o.reconstructionFeatures().get(s.name());
      if (rf == null) {
        throw new BenchmarkException("no " + s.name() + " features for the reconstruction of " + item.name());
      }
      features.get(s.name()).append(item.name(), rf);
    }
    return o.result();
  }

  /**
   * What one (image, operating point) pair yields: its result row and, per set metric, the features of the
   * reconstruction and (where asked) of the original.
   */
  public record PairOutcome(EvalResults.ImageResult result, Map<String, float[]> originalFeatures,
      Map<String, float[]> reconstructionFeatures) {}

  /**
   * One image through one operating point: compress, write, measure the file, read back, decompress, measure. Writes
   * nothing but the bitstream (and the reconstruction if {@link Options#saveReconstructions()}) under
   * {@link Options#outDir()}, so it can run anywhere the image is readable, e.g. in a distributed task whose results
   * are recorded elsewhere.
   *
   * @param originalsNeeded the set metrics whose features of the original are also wanted
   */
  public PairOutcome evaluatePair(ImageCodec codec, EvalDataset.Item item, CaptionEncoder captions,
      String textSource, List<? extends ImageMetric> metrics, List<? extends SetMetric> setMetrics,
      Set<String> originalsNeeded) {
    String dirName = pointDir(codec);
    RgbImage x = RgbImage.read(item.path());
    TextEmbedding text = null;
    if (codec.usesText()) {
      String caption = options.captionMode() == CaptionMode.EMPTY ? "" : item.caption();
      HostTensor captionFeatures = captions.encodeTensor(item.name(), caption);
      long[] fs = captionFeatures.shape();
      text = new TextEmbedding(captionFeatures.toFloatArray(), (int) fs[fs.length - 2], (int) fs[fs.length - 1],
          captions.source());
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
    RgbImage saved = y.asSaveImagePng();
    RgbImage measured = options.metricsOn() == MetricsOn.PNG8 ? saved : y;
    double bpp = 8.0 * bytes / ((double) x.width() * x.height());
    Map<String, Double> values = new LinkedHashMap<>();
    for (ImageMetric m : metrics) {
      values.put(m.name(), m.compute(x, measured));
    }
    // FID/CMMD read images as 8-bit pixels, as pytorch-fid and CMMD read saved files.
    Map<String, float[]> originalFeatures = new LinkedHashMap<>();
    Map<String, float[]> reconFeatures = new LinkedHashMap<>();
    for (SetMetric s : setMetrics) {
      if (originalsNeeded.contains(s.name())) {
        originalFeatures.put(s.name(), s.features(x));
      }
      reconFeatures.put(s.name(), s.features(saved));
    }
    if (options.saveReconstructions()) {
      saved.writePng(options.outDir().resolve("reconstructions").resolve(dirName)
          .resolve(stem(item.name()) + ".png"));
    }
    EvalResults.ImageResult r = new EvalResults.ImageResult(codec.name(), codec.setting(), item.name(), x.width(),
        x.height(), bytes, bpp, values, codec.usesText() ? textSource : "none");
    return new PairOutcome(r, originalFeatures, reconFeatures);
  }

  /**
   * Reads what an interrupted run recorded: the CSV rows (an incomplete last line dropped) whose features are all
   * present; features without a CSV row are dropped (the crash came between the two) and so are rows without
   * features, and both are computed again. Returns the CSV opened for appending.
   */
  private static PerImageCsv resumeCsv(Path csvFile, List<String> metricNames, List<EvalDataset.Item> items,
      Map<String, Map<String, EvalResults.ImageResult>> recorded, Map<String, Map<String, FeatureFile>> features) {
    Set<String> names = new HashSet<>();
    items.forEach(i -> names.add(i.name()));
    List<EvalResults.ImageResult> rows = PerImageCsv.read(csvFile, metricNames);
    boolean dropped = false;
    for (EvalResults.ImageResult r : rows) {
      String key = pointKey(r.codec(), r.setting());
      Map<String, EvalResults.ImageResult> point = recorded.get(key);
      if (point == null || !names.contains(r.image())) {
        throw new BenchmarkException(csvFile + " holds a result (" + r.codec() + " " + r.setting() + ", " + r.image()
            + ") that is not part of this run");
      }
      if (features.get(key).values().stream().allMatch(f -> f.has(r.image())) && !point.containsKey(r.image())) {
        point.put(r.image(), r);
      } else {
        dropped = true;
      }
    }
    for (Map.Entry<String, Map<String, FeatureFile>> p : features.entrySet()) {
      for (FeatureFile f : p.getValue().values()) {
        f.retain(recorded.get(p.getKey()).keySet());
      }
    }
    if (dropped) {
      List<EvalResults.ImageResult> kept = new ArrayList<>();
      recorded.values().forEach(m -> kept.addAll(m.values()));
      PerImageCsv.rewrite(csvFile, metricNames, kept);
    }
    return PerImageCsv.append(csvFile, metricNames);
  }

  /** Rows in (operating point, dataset) order; means and set distances over the dataset in its order. */
  private EvalResults results(EvalDataset dataset, Map<String, ImageCodec> points,
      Map<String, Map<String, EvalResults.ImageResult>> recorded, List<? extends ImageMetric> metrics,
      List<? extends SetMetric> setMetrics, Map<String, FeatureFile> originals,
      Map<String, Map<String, FeatureFile>> reconFeatures, CaptionEncoder captions, boolean anyText,
      String textSource, List<String> notes) {
    List<EvalDataset.Item> items = dataset.items();
    List<String> names = items.stream().map(EvalDataset.Item::name).toList();
    Map<String, List<float[]>> originalFeatures = new LinkedHashMap<>();
    for (SetMetric s : setMetrics) {
      originalFeatures.put(s.name(), originals.get(s.name()).get(names));
    }
    List<EvalResults.ImageResult> results = new ArrayList<>();
    List<EvalResults.PointSummary> summaries = new ArrayList<>();
    for (Map.Entry<String, ImageCodec> p : points.entrySet()) {
      Map<String, EvalResults.ImageResult> done = recorded.get(p.getKey());
      double bppSum = 0;
      Map<String, Double> sums = new LinkedHashMap<>();
      for (EvalDataset.Item item : items) {
        EvalResults.ImageResult r = done.get(item.name());
        results.add(r);
        bppSum += r.bpp();
        for (ImageMetric m : metrics) {
          Double v = r.metrics().get(m.name());
          sums.merge(m.name(), v == null ? Double.NaN : v, Double::sum);
        }
      }
      Map<String, Double> means = new LinkedHashMap<>();
      sums.forEach((k, v) -> means.put(k, v / items.size()));
      // One point's features in memory at a time (read back from its file), in dataset order.
      for (SetMetric s : setMetrics) {
        means.putAll(s.distances(originalFeatures.get(s.name()),
            reconFeatures.get(p.getKey()).get(s.name()).get(names)));
      }
      ImageCodec c = p.getValue();
      summaries.add(new EvalResults.PointSummary(c.name(), c.setting(), items.size(), bppSum / items.size(), means));
    }
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
        options.captionMode().name().toLowerCase(Locale.ROOT), textSource, captionsUsed,
        metrics.stream().map(ImageMetric::name).toList(),
        setMetrics.stream().flatMap(s -> s.columns().stream()).toList(),
        allNotes);
    return new EvalResults(info, results, summaries);
  }

  private FeatureFile featureFile(String metric, String stem) {
    Path dir = options.outDir().resolve(FEATURES_DIR).resolve(safe(metric));
    return options.resume() ? FeatureFile.open(dir, stem) : FeatureFile.create(dir, stem);
  }

  private static <T extends AutoCloseable> T track(List<AutoCloseable> open, T c) {
    open.add(c);
    return c;
  }

  private static void closeAll(List<AutoCloseable> open) {
    for (AutoCloseable c : open) {
      try {
        c.close();
      } catch (Exception ignored) {
        // closing after a failure must not hide it; files are flushed after every write anyway
      }
    }
  }

  static String pointKey(String codec, String setting) {
    return codec + "\u0000" + setting;
  }

  static String pointDir(ImageCodec codec) {
    return safe(codec.name() + "_" + codec.setting());
  }

  private Progress progressBar(long total, long already) {
    return options.progress() && progress != null ? progress.start("taco eval", total, already, "images") : null;
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
