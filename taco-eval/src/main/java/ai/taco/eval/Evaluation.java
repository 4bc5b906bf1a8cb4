package ai.taco.eval;

import ai.taco.core.CaptionEncoder;
import ai.taco.eval.bench.BenchmarkException;
import ai.taco.eval.bench.Coco30k;
import ai.taco.eval.bench.EvalDataset;
import ai.taco.eval.bench.EvalResults;
import ai.taco.eval.bench.EvalRunner;
import ai.taco.eval.bench.ImageCodec;
import ai.taco.eval.bench.ReferencePoints;
import ai.taco.eval.bench.RdPlot;
import ai.taco.eval.bench.ResultsWriter;
import ai.taco.eval.bench.RunManifest;
import ai.taco.eval.bench.StandardMetrics;
import ai.taco.metrics.Pieapp;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Runs an {@link EvalPlan}: checks the output folder, writes or checks run.json, prepares MS-COCO if asked, evaluates
 * every (image, operating point) pair through {@link EvalRunner}, and writes per_image.csv, features/, summary.json,
 * summary.md and rd_&lt;metric&gt;.png. The one engine behind {@code taco eval} and {@code taco-spark eval}.
 */
public final class Evaluation {

  /** Our own files in the output folder, removed by {@code force} before a new run appends to them. */
  private static final List<String> OWN_FILES = List.of(RunManifest.FILE, ResultsWriter.PER_IMAGE_CSV,
      ResultsWriter.SUMMARY_JSON, ResultsWriter.SUMMARY_MD);

  private final EvalPlan plan;
  private final Path out;
  private EvalRunner.Progress.Reporter progress;
  private EvalRunner.PairEvaluator pairEvaluator;
  private boolean deferMetricWeights;
  private Consumer<EvalResults.ImageResult> afterEachResult = r -> {};

  public Evaluation(EvalPlan plan) {
    this.plan = plan.validate();
    this.out = Path.of(plan.outputs().out());
  }

  /** Progress through {@code reporter} (null: none). */
  public Evaluation withProgress(EvalRunner.Progress.Reporter reporter) {
    this.progress = reporter;
    return this;
  }

  /** Lets a distributed runner compute the (image, operating point) pairs; everything else stays as here. */
  public Evaluation withPairEvaluator(EvalRunner.PairEvaluator evaluator) {
    this.pairEvaluator = evaluator;
    return this;
  }

  /**
   * The metrics' networks load on their first image only: for a pair evaluator whose images are measured in other
   * JVMs, so this one loads none (FID/CMMD reduce features without them).
   */
  public Evaluation deferMetricWeights(boolean defer) {
    this.deferMetricWeights = defer;
    return this;
  }

  /** Called after each result is recorded; tests throw from it to interrupt a run as a crash would. */
  public Evaluation afterEachResult(Consumer<EvalResults.ImageResult> hook) {
    this.afterEachResult = hook;
    return this;
  }

  /** Runs the plan; returns summary.json's text. */
  public String run() {
    EvalRunner.CaptionMode mode = plan.captionMode();
    EvalRunner.MetricsOn on = plan.metricsOn();
    boolean resuming = checkOutput();
    List<String> notes = new ArrayList<>();
    // A folder dataset is listed now; MS-COCO is prepared only after the manifest check (a refused resume must not
    // touch OUT/prepared).
    EvalDataset folder = plan.dataset().cocoList() == null ? folderDataset() : null;

    List<ImageCodec> codecs = plan.openCodecs();
    List<ReferencePoints.Point> refs = new ArrayList<>();
    if (plan.outputs().builtinReferences()) {
      refs.addAll(ReferencePoints.builtin());
    }
    for (String r : plan.outputs().references()) {
      refs.addAll(ReferencePoints.read(Path.of(r)));
    }
    if (!plan.points().taco().isEmpty() && mode == EvalRunner.CaptionMode.DATASET
        && plan.dataset().captions() == null && plan.dataset().cocoList() == null) {
      throw new BenchmarkException("--captions is required to evaluate TACO in --caption-mode dataset"
          + " (or use --caption-mode empty)");
    }
    RunManifest manifest = manifest(folder, codecs, mode, on);
    Path manifestFile = out.resolve(RunManifest.FILE);
    if (resuming) {
      manifest.requireSame(RunManifest.read(manifestFile), manifestFile);
    } else {
      if (plan.outputs().force()) {
        clearOwnFiles();
      }
      manifest.write(manifestFile);
    }
    EvalDataset ds = folder != null ? folder : cocoDataset(notes);
    refs = ReferencePoints.forDataset(refs, ds.name());
    try (CaptionEncoder text = plan.openCaptionEncoder();
        StandardMetrics metrics = plan.openMetrics(deferMetricWeights)) {
      notes.addAll(metrics.notes());
      EvalRunner runner = new EvalRunner(
          new EvalRunner.Options(out, mode, on, plan.outputs().saveReconstructions(), plan.outputs().keepBitstreams(),
              progress != null, resuming),
          afterEachResult).withPairEvaluator(pairEvaluator).withProgress(progress);
      EvalResults results = runner.run(ds, codecs, text, metrics.imageMetrics(), metrics.setMetrics(), notes);
      ResultsWriter.writeAll(results, refs, out);
      RdPlot.writeAll(results, refs, out);
      try {
        return Files.readString(out.resolve(ResultsWriter.SUMMARY_JSON));
      } catch (IOException e) {
        throw new BenchmarkException("cannot read back " + ResultsWriter.SUMMARY_JSON + ": " + e.getMessage(), e);
      }
    }
  }

  private EvalDataset folderDataset() {
    EvalPlan.Data d = plan.dataset();
    EvalDataset ds = EvalDataset.folder(Path.of(d.folder()), EvalPlan.path(d.captions()), d.limit());
    return d.name() == null ? ds : new EvalDataset(d.name(), ds.items());
  }

  private String cocoName() {
    return plan.dataset().name() == null ? "coco30k" : plan.dataset().name();
  }

  private EvalDataset cocoDataset(List<String> notes) {
    EvalPlan.Data d = plan.dataset();
    Path cocoList = Path.of(d.cocoList());
    Path captions = Path.of(d.captions());
    Coco30k.Prepared p = Coco30k.prepare(cocoList, Path.of(d.folder()), captions, out.resolve("prepared"),
        plan.cocoPreprocess(), d.limit());
    notes.add("MS-COCO: " + p.images() + " images from " + cocoList.getFileName() + ", preprocessing "
        + d.cocoPreprocess() + ", caption = the one with the smallest annotation id in " + captions.getFileName()
        + (p.upscaled().isEmpty() ? "" : "; " + p.upscaled().size() + " image(s) shorter than 256 px were upscaled"));
    return new EvalDataset(cocoName(), p.items());
  }

  /**
   * The configuration this run's numbers depend on (docs/benchmarks.md, "Interrupted runs"): dataset listing,
   * operating points with their weights' SHA-256, text condition, metrics and their weights' SHA-256. What only
   * changes what is kept or drawn (reconstructions, bitstreams, references, progress) is not part of it.
   */
  private RunManifest manifest(EvalDataset folder, List<ImageCodec> codecs, EvalRunner.CaptionMode mode,
      EvalRunner.MetricsOn on) {
    EvalPlan.Data d = plan.dataset();
    Map<String, Object> config = new LinkedHashMap<>();
    if (folder != null) {
      config.put("dataset", RunManifest.folderDataset(folder));
    } else {
      config.put("dataset", RunManifest.cocoDataset(cocoName(), Path.of(d.cocoList()), Path.of(d.captions()),
          d.cocoPreprocess().toLowerCase(Locale.ROOT), d.limit()));
    }
    config.put("codecs", RunManifest.codecs(codecs));
    Map<String, Object> text = new LinkedHashMap<>();
    text.put("caption_mode", mode.name().toLowerCase(Locale.ROOT));
    if (plan.points().taco().isEmpty()) {
      text.put("encoder", "none (no codec reads text)");
    } else if (plan.text().clip() != null) {
      text.put("encoder", "clip");
      text.put("clip_sha256", RunManifest.sha256(Path.of(plan.text().clip())));
    } else if (plan.text().textEmbeddings() != null) {
      text.put("encoder", "precomputed");
      text.put("embeddings_sha256", RunManifest.sha256(Path.of(plan.text().textEmbeddings())));
    } else {
      text.put("encoder", "zeros");
    }
    config.put("text", text);
    EvalPlan.Metrics m = plan.metrics();
    Map<String, Object> metrics = new LinkedHashMap<>();
    metrics.put("on", on.name().toLowerCase(Locale.ROOT));
    metrics.put("psnr", "-10 log10(mean((x - x_hat)^2)), data range 1");
    metrics.put("ms_ssim", "pytorch-msssim ms_ssim(data_range=1), Resize(256) fallback");
    if (!m.lpipsWeights().isEmpty()) {
      Map<String, Object> lp = new LinkedHashMap<>();
      lp.put("input", plan.lpipsConvention().id());
      lp.put("weights_sha256", m.lpipsWeights().stream().map(Path::of).map(RunManifest::sha256).sorted().toList());
      metrics.put("lpips", lp);
    }
    if (m.pieappWeights() != null) {
      metrics.put("pieapp",
          Map.of("weights_sha256", RunManifest.sha256(Path.of(m.pieappWeights())), "stride", Pieapp.DEFAULT_STRIDE));
    }
    if (m.inception() != null) {
      metrics.put("fid", Map.of("inception_sha256", RunManifest.sha256(Path.of(m.inception()))));
    }
    if (m.cmmdClip() != null) {
      metrics.put("cmmd", Map.of("clip_sha256", RunManifest.sha256(Path.of(m.cmmdClip())), "recipe",
          plan.cmmdRecipe().id()));
    }
    config.put("metrics", metrics);
    return RunManifest.of(config);
  }

  /**
   * Checks the output folder before any work: never write into a non-empty folder unless force (then our own files
   * are removed first, others kept) or resume (then it must hold a run manifest). Returns whether a run is resumed.
   */
  private boolean checkOutput() {
    boolean force = plan.outputs().force();
    boolean resume = plan.outputs().resume();
    if (Files.exists(out) && !Files.isDirectory(out)) {
      throw new BenchmarkException("--out " + out + " exists and is not a folder");
    }
    boolean nonEmpty = false;
    if (Files.isDirectory(out)) {
      try (Stream<Path> s = Files.list(out)) {
        nonEmpty = s.findAny().isPresent();
      } catch (IOException e) {
        throw new BenchmarkException("cannot list " + out + ": " + e.getMessage(), e);
      }
    }
    if (nonEmpty && resume && !Files.isRegularFile(out.resolve(RunManifest.FILE))) {
      throw new BenchmarkException("--resume: " + out + " holds no " + RunManifest.FILE
          + " (not the results folder of a taco eval run that can be resumed)");
    }
    if (nonEmpty && !resume && !force) {
      throw new BenchmarkException("--out " + out + " is not empty; use --resume to continue the run it holds or"
          + " --force to overwrite its results");
    }
    try {
      Files.createDirectories(out);
    } catch (IOException e) {
      throw new BenchmarkException("cannot create " + out + ": " + e.getMessage(), e);
    }
    return nonEmpty && resume;
  }

  /** force: removes the files a previous run appended to or would leave stale (other files are kept). */
  private void clearOwnFiles() {
    try {
      for (String f : OWN_FILES) {
        Files.deleteIfExists(out.resolve(f));
      }
      try (Stream<Path> s = Files.list(out)) {
        for (Path p : s.filter(p -> p.getFileName().toString().matches("rd_.*\\.png")).toList()) {
          Files.delete(p);
        }
      }
      Path features = out.resolve(EvalRunner.FEATURES_DIR);
      if (Files.isDirectory(features)) {
        try (Stream<Path> s = Files.walk(features)) {
          for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
            Files.delete(p);
          }
        }
      }
    } catch (IOException e) {
      throw new BenchmarkException("--force: cannot remove the previous results in " + out + ": " + e.getMessage(), e);
    }
  }
}
