package ai.taco.eval.cli;

import ai.taco.core.CaptionEncoder;
import ai.taco.core.TacoConfig;
import ai.taco.core.Precision;
import ai.taco.core.ScaleTable;
import ai.taco.eval.bench.BenchmarkException;
import ai.taco.eval.bench.Coco30k;
import ai.taco.eval.bench.EvalDataset;
import ai.taco.eval.bench.EvalResults;
import ai.taco.eval.bench.EvalRunner;
import ai.taco.eval.bench.ExternalCodec;
import ai.taco.eval.bench.ImageCodec;
import ai.taco.eval.bench.ImageMetric;
import ai.taco.eval.bench.JpegCodec;
import ai.taco.eval.bench.ReferencePoints;
import ai.taco.eval.bench.RdPlot;
import ai.taco.eval.bench.ResultsWriter;
import ai.taco.eval.bench.RunManifest;
import ai.taco.eval.bench.SetMetric;
import ai.taco.eval.bench.StandardMetrics;
import ai.taco.eval.bench.TacoCodecs;
import ai.taco.eval.bench.TacoImageCodec;
import ai.taco.eval.metrics.Lpips;
import ai.taco.eval.metrics.Pieapp;
import java.io.IOException;
import java.io.PrintWriter;
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
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code taco eval}: the paper's rate-distortion evaluation of TACO checkpoints and baselines in one run. */
@Command(
    name = "eval",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Compress every image of a dataset with every TACO checkpoint and baseline, decompress, and measure bpp (from the"
          + " bitstream file size over the original H x W), PSNR, MS-SSIM, LPIPS, PieAPP, and per set FID / KID /"
          + " CMMD.",
      "Writes run.json, per_image.csv (row by row), features/ (FID/KID/CMMD), summary.json, summary.md and"
          + " rd_<metric>.png into --out; prints summary.json to stdout. An interrupted run continues with --resume."
    })
public final class EvalCommand implements TacoCommand {

  @Spec CommandSpec spec;

  @Option(names = "--weights", arity = "1..*", paramLabel = "W",
      description = "TACO checkpoints (official .pth.tar or safetensors); one rate point each.")
  List<Path> weights = new ArrayList<>();

  @Option(names = "--preset", description = "TACO size preset: full, small, tiny (default: inferred from the weights).")
  String preset;

  @Option(names = "--scale-table", defaultValue = "torch1", paramLabel = "torch1|torch2",
      description = "Gaussian scale-table variant for TACO (docs/bitstream.md), default ${DEFAULT-VALUE}.")
  String scaleTable;

  @Option(names = "--container", defaultValue = "compressai", paramLabel = "compressai|taco",
      description = "File whose size is TACO's rate: the official .bin (default, as the paper) or TACO-J's container.")
  String container;

  @Option(names = "--dataset", required = true, paramLabel = "DIR",
      description = "Folder of images (.png/.jpg/.jpeg, sorted by name); for MS-COCO 30k the val2014 folder.")
  Path dataset;

  @Option(names = "--dataset-name", paramLabel = "NAME",
      description = "Name in the outputs and for matching reference points (default: the folder's name, or coco30k).")
  String datasetName;

  @Option(names = "--captions", paramLabel = "JSON",
      description = "Captions: {\"file\": \"caption\"} (kodak_ofa.json, clic_ofa.json) or a COCO captions file.")
  Path captions;

  @Option(names = "--caption-mode", defaultValue = "dataset", paramLabel = "dataset|empty",
      description = "dataset: each image's caption; empty: the empty caption \"\" for all (ablation).")
  String captionMode;

  @Option(names = "--clip", paramLabel = "DIR",
      description = "CLIP ViT-B/32 folder (HF layout: config.json, model.safetensors, tokenizer.json): TACO's caption"
          + " encoder.")
  Path clip;

  @Option(names = "--cmmd-clip", paramLabel = "DIR",
      description = "CLIP folder whose vision tower embeds images for CMMD (the CMMD paper uses"
          + " clip-vit-large-patch14-336); CMMD is skipped without it.")
  Path cmmdClip;

  @Option(names = "--text-embeddings", paramLabel = "FILE",
      description = "Without --clip: safetensors with one [1,38,512] CLIP last_hidden_state per image file name.")
  Path textEmbeddings;

  @Option(names = "--lpips-weights", arity = "1..2", paramLabel = "W",
      description = "LPIPS (AlexNet v0.1): torchvision alexnet-owt-7be5be79.pth and lpips alex.pth (either order), a"
          + " folder holding both, or one whole lpips state dict; LPIPS is skipped without them.")
  List<Path> lpipsWeights = new ArrayList<>();

  @Option(names = "--lpips-input", defaultValue = "taco", paramLabel = "taco|standard",
      description = "LPIPS input: taco = [0,1] images fed directly as the official code (default, comparable with the"
          + " paper); standard = mapped to [-1,1] as LPIPS is documented.")
  String lpipsInput;

  @Option(names = "--pieapp-weights", paramLabel = "W",
      description = "PieAPP weights (piq's PieAPPv0.1.pth, or the same keys as safetensors); adds a pieapp column to"
          + " per_image.csv. PieAPP is skipped without them.")
  Path pieappWeights;

  @Option(names = "--metrics-on", defaultValue = "float", paramLabel = "float|png8",
      description = "What PSNR, MS-SSIM and LPIPS measure: float = the decoder's output as is (TACO: not clamped), as"
          + " the official evaluation (default); png8 = the reconstruction saved as an 8-bit PNG and read back.")
  String metricsOn;

  @Option(names = "--inception", paramLabel = "W", description = "pytorch-fid InceptionV3 weights; FID is skipped without them.")
  Path inception;

  @Option(names = "--jpeg-quality", split = ",", paramLabel = "Q",
      defaultValue = "5,10,20,30,40,50,60,70,80,90",
      description = "JPEG baseline qualities (javax.imageio), default ${DEFAULT-VALUE}.")
  List<Integer> jpegQualities;

  @Option(names = "--no-jpeg", description = "Do not run the JPEG baseline.")
  boolean noJpeg;

  @Option(names = "--external", paramLabel = "SPEC",
      description = "External codec: NAME[@Q1,Q2,...]:ENCODE;DECODE with {in} {out} {recon} {q} {w} {h}"
          + " (see docs/benchmarks.md). Repeatable.")
  List<String> external = new ArrayList<>();

  @Option(names = "--reference", paramLabel = "CSV",
      description = "Extra published points (same columns as the shipped reference-points.csv). Repeatable.")
  List<Path> references = new ArrayList<>();

  @Option(names = "--no-reference", description = "Do not draw the shipped reference points.")
  boolean noReference;

  @Option(names = "--coco-list", paramLabel = "JSON",
      description = "MS-COCO 30k: TACO's mscoco_30k_list.json; --dataset is then the val2014 folder and --captions"
          + " captions_val2014.json. Images are prepared into OUT/prepared first.")
  Path cocoList;

  @Option(names = "--coco-preprocess", defaultValue = "crop", paramLabel = "crop|resize-crop|none",
      description = "MS-COCO preprocessing (default ${DEFAULT-VALUE}): center crop 256x256, shorter side to 256 then"
          + " crop, or the full image as the official script feeds it.")
  String cocoPreprocess;

  @Option(names = "--precision", defaultValue = "fp32", paramLabel = "P", converter = PrecisionConverter.class,
      description = "Arithmetic of the TACO codecs' gA/gS: fp32 (default), bf16 or fp16 (docs/performance.md).")
  Precision precision;

  @Option(names = "--limit", defaultValue = "0", description = "Only the first N images (sorted); 0 = all.")
  int limit;

  @Option(names = "--save-reconstructions", description = "Write every reconstruction as PNG under OUT/reconstructions.")
  boolean saveReconstructions;

  @Option(names = "--keep-bitstreams", description = "Keep every bitstream under OUT/bitstreams.")
  boolean keepBitstreams;

  @Option(names = "--out", required = true, paramLabel = "RESULTS_DIR", description = "Output folder.")
  Path out;

  @Option(names = "--force",
      description = "Start over in a non-empty --out: its run.json, per_image.csv, summary.*, rd_*.png and features/"
          + " are removed first; other files are kept.")
  boolean force;

  @Option(names = "--resume",
      description = "Continue an interrupted run in --out: refuses if the configuration differs from OUT/run.json,"
          + " otherwise computes only the (image, operating point) pairs not yet in per_image.csv.")
  boolean resume;

  @Option(names = "--no-progress", description = "No progress bar.")
  boolean noProgress;

  /** Called after each result is recorded; tests throw from it to interrupt a run as a crash would. */
  Consumer<EvalResults.ImageResult> afterEachResult = r -> {};

  /** Computes the pairs elsewhere (a distributed runner); null = in this JVM. */
  private EvalRunner.PairEvaluator pairEvaluator;

  /** Lets a distributed runner compute the (image, operating point) pairs; everything else stays as here. */
  public void setPairEvaluator(EvalRunner.PairEvaluator evaluator) {
    this.pairEvaluator = evaluator;
  }

  /**
   * The operating points these options describe, in run order (TACO checkpoints, JPEG qualities, external codecs);
   * weights load on first use.
   */
  public List<ImageCodec> codecs() {
    List<ImageCodec> codecs = new ArrayList<>();
    if (!weights.isEmpty()) {
      TacoImageCodec.Container box = switch (container.toLowerCase(Locale.ROOT)) {
        case "compressai" -> TacoImageCodec.Container.COMPRESSAI;
        case "taco" -> TacoImageCodec.Container.TACO;
        default -> throw new BenchmarkException("--container must be compressai or taco, got '" + container + "'");
      };
      codecs.addAll(TacoCodecs.open(weights, preset == null ? null : TacoConfig.preset(preset), ScaleTable.fromId(scaleTable), box,
          precision));
    }
    if (!noJpeg) {
      for (int q : jpegQualities) {
        codecs.add(new JpegCodec(q));
      }
    }
    for (String spec : external) {
      codecs.addAll(ExternalCodec.parse(spec));
    }
    return codecs;
  }

  /** TACO's caption encoder as these options select it (CLIP, precomputed embeddings or zeros). */
  public CaptionEncoder captionEncoder() {
    return TacoCodecs.captionEncoder(weights.isEmpty(), clip, textEmbeddings);
  }

  /** The metrics these options select, their weights loaded. */
  public StandardMetrics metrics() {
    return StandardMetrics.open(lpipsWeights, lpipsConvention(lpipsInput), pieappWeights, inception, cmmdClip);
  }

  /** How each pair is evaluated: caption mode and what the metrics measure. */
  public EvalRunner.CaptionMode captionModeOption() {
    return parseCaptionMode(captionMode);
  }

  public EvalRunner.MetricsOn metricsOnOption() {
    return parseMetricsOn(metricsOn);
  }

  /** Our own files in --out, removed by --force before a new run appends to them. */
  private static final List<String> OWN_FILES = List.of(RunManifest.FILE, ResultsWriter.PER_IMAGE_CSV,
      ResultsWriter.SUMMARY_JSON, ResultsWriter.SUMMARY_MD);

  @Override
  public Integer call() {
    EvalRunner.CaptionMode mode = parseCaptionMode(captionMode);
    EvalRunner.MetricsOn on = parseMetricsOn(metricsOn);
    lpipsConvention(lpipsInput);
    boolean resuming = checkOutput();
    List<String> notes = new ArrayList<>();
    // A folder dataset is listed now; MS-COCO is prepared only after the manifest check (a refused resume must not
    // touch OUT/prepared).
    EvalDataset folder = cocoList == null ? folderDataset() : null;

    List<ImageCodec> codecs = codecs();
    List<ReferencePoints.Point> refs = new ArrayList<>();
    if (!noReference) {
      refs.addAll(ReferencePoints.builtin());
    }
    for (Path r : references) {
      refs.addAll(ReferencePoints.read(r));
    }
    if (!weights.isEmpty() && mode == EvalRunner.CaptionMode.DATASET && captions == null && cocoList == null) {
      throw new BenchmarkException("--captions is required to evaluate TACO in --caption-mode dataset"
          + " (or use --caption-mode empty)");
    }
    RunManifest manifest = manifest(folder, codecs, mode, on);
    Path manifestFile = out.resolve(RunManifest.FILE);
    if (resuming) {
      manifest.requireSame(RunManifest.read(manifestFile), manifestFile);
    } else {
      if (force) {
        clearOwnFiles();
      }
      manifest.write(manifestFile);
    }
    EvalDataset ds = folder != null ? folder : cocoDataset(notes);
    refs = ReferencePoints.forDataset(refs, ds.name());
    try (CaptionEncoder text = captionEncoder();
        StandardMetrics metrics = metrics()) {
      notes.addAll(metrics.notes());
      List<ImageMetric> imageMetrics = metrics.imageMetrics();
      List<SetMetric> setMetrics = metrics.setMetrics();
      EvalRunner runner = new EvalRunner(
          new EvalRunner.Options(out, mode, on, saveReconstructions, keepBitstreams, !noProgress, resuming),
          afterEachResult).withPairEvaluator(pairEvaluator);
      EvalResults results = runner.run(ds, codecs, text, imageMetrics, setMetrics, notes);
      ResultsWriter.writeAll(results, refs, out);
      RdPlot.writeAll(results, refs, out);
      PrintWriter stdout = spec.commandLine().getOut();
      try {
        stdout.println(Files.readString(out.resolve(ResultsWriter.SUMMARY_JSON)));
      } catch (IOException e) {
        throw new BenchmarkException("cannot read back " + ResultsWriter.SUMMARY_JSON + ": " + e.getMessage(), e);
      }
      stdout.flush();
    }
    return 0;
  }

  private EvalDataset folderDataset() {
    EvalDataset ds = EvalDataset.folder(dataset, captions, limit);
    return datasetName == null ? ds : new EvalDataset(datasetName, ds.items());
  }

  private String cocoName() {
    return datasetName == null ? "coco30k" : datasetName;
  }

  private Coco30k.Preprocess cocoPreprocess() {
    return switch (cocoPreprocess.toLowerCase(Locale.ROOT)) {
      case "crop" -> Coco30k.Preprocess.CROP;
      case "resize-crop" -> Coco30k.Preprocess.RESIZE_CROP;
      case "none" -> Coco30k.Preprocess.NONE;
      default -> throw new BenchmarkException(
          "--coco-preprocess must be crop, resize-crop or none, got '" + cocoPreprocess + "'");
    };
  }

  private EvalDataset cocoDataset(List<String> notes) {
    Path prepDir = out.resolve("prepared");
    Coco30k.Prepared p = Coco30k.prepare(cocoList, dataset, captions, prepDir, cocoPreprocess(), limit);
    notes.add("MS-COCO: " + p.images() + " images from " + cocoList.getFileName() + ", preprocessing "
        + cocoPreprocess + ", caption = the one with the smallest annotation id in " + captions.getFileName()
        + (p.upscaled().isEmpty() ? "" : "; " + p.upscaled().size() + " image(s) shorter than 256 px were upscaled"));
    return new EvalDataset(cocoName(), p.items());
  }

  /**
   * The configuration this run's numbers depend on (docs/benchmarks.md, "Interrupted runs"): dataset listing,
   * operating points with their weights' SHA-256, text condition, metrics and their weights' SHA-256. Options that
   * only change what is kept or drawn (--save-reconstructions, --keep-bitstreams, references, progress) are not part
   * of it.
   */
  private RunManifest manifest(EvalDataset folder, List<ImageCodec> codecs, EvalRunner.CaptionMode mode,
      EvalRunner.MetricsOn on) {
    Map<String, Object> config = new LinkedHashMap<>();
    if (folder != null) {
      config.put("dataset", RunManifest.folderDataset(folder));
    } else {
      if (captions == null) {
        throw new BenchmarkException("--coco-list needs --captions captions_val2014.json");
      }
      cocoPreprocess();
      config.put("dataset", RunManifest.cocoDataset(cocoName(), cocoList, captions,
          cocoPreprocess.toLowerCase(Locale.ROOT), limit));
    }
    config.put("codecs", RunManifest.codecs(codecs));
    Map<String, Object> text = new LinkedHashMap<>();
    text.put("caption_mode", mode.name().toLowerCase(Locale.ROOT));
    if (weights.isEmpty()) {
      text.put("encoder", "none (no codec reads text)");
    } else if (clip != null) {
      text.put("encoder", "clip");
      text.put("clip_sha256", RunManifest.sha256(clip));
    } else if (textEmbeddings != null) {
      text.put("encoder", "precomputed");
      text.put("embeddings_sha256", RunManifest.sha256(textEmbeddings));
    } else {
      text.put("encoder", "zeros");
    }
    config.put("text", text);
    Map<String, Object> metrics = new LinkedHashMap<>();
    metrics.put("on", on.name().toLowerCase(Locale.ROOT));
    metrics.put("psnr", "-10 log10(mean((x - x_hat)^2)), data range 1");
    metrics.put("ms_ssim", "pytorch-msssim ms_ssim(data_range=1), Resize(256) fallback");
    if (!lpipsWeights.isEmpty()) {
      Map<String, Object> lp = new LinkedHashMap<>();
      lp.put("input", lpipsInput.toLowerCase(Locale.ROOT));
      lp.put("weights_sha256", lpipsWeights.stream().map(RunManifest::sha256).sorted().toList());
      metrics.put("lpips", lp);
    }
    if (pieappWeights != null) {
      metrics.put("pieapp",
          Map.of("weights_sha256", RunManifest.sha256(pieappWeights), "stride", Pieapp.DEFAULT_STRIDE));
    }
    if (inception != null) {
      metrics.put("fid", Map.of("inception_sha256", RunManifest.sha256(inception)));
    }
    if (cmmdClip != null) {
      metrics.put("cmmd", Map.of("clip_sha256", RunManifest.sha256(cmmdClip)));
    }
    config.put("metrics", metrics);
    return RunManifest.of(config);
  }

  /**
   * Checks --out before any work: never write into a non-empty folder unless --force (then our own files are removed
   * first, others kept) or --resume (then it must hold a run manifest). Returns whether a run is resumed.
   */
  private boolean checkOutput() {
    if (force && resume) {
      throw new BenchmarkException("--force starts --out over, --resume continues it: give one of them");
    }
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

  /** --force: removes the files a previous run appended to or would leave stale (other files in --out are kept). */
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

  static EvalRunner.MetricsOn parseMetricsOn(String s) {
    return switch (s.toLowerCase(Locale.ROOT)) {
      case "float" -> EvalRunner.MetricsOn.FLOAT;
      case "png8" -> EvalRunner.MetricsOn.PNG8;
      default -> throw new BenchmarkException("--metrics-on must be float or png8, got '" + s + "'");
    };
  }

  static Lpips.InputConvention lpipsConvention(String s) {
    return switch (s.toLowerCase(Locale.ROOT)) {
      case "taco" -> Lpips.InputConvention.TACO_QUIRK;
      case "standard" -> Lpips.InputConvention.STANDARD;
      default -> throw new BenchmarkException("--lpips-input must be taco or standard, got '" + s + "'");
    };
  }

  static EvalRunner.CaptionMode parseCaptionMode(String s) {
    return switch (s.toLowerCase(Locale.ROOT)) {
      case "dataset" -> EvalRunner.CaptionMode.DATASET;
      case "empty" -> EvalRunner.CaptionMode.EMPTY;
      default -> throw new BenchmarkException("--caption-mode must be dataset or empty, got '" + s + "'");
    };
  }
}
