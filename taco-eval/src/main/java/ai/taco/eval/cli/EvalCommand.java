package ai.taco.eval.cli;

import ai.taco.core.TacoConfig;
import ai.taco.core.entropy.ScaleTable;
import ai.taco.eval.bench.BenchmarkException;
import ai.taco.eval.bench.CaptionEncoder;
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
import ai.taco.eval.bench.SetMetric;
import ai.taco.eval.bench.StandardMetrics;
import ai.taco.eval.bench.TacoCodecs;
import ai.taco.eval.bench.TacoImageCodec;
import ai.taco.eval.metrics.Lpips;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
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
          + " bitstream file size over the original H x W), PSNR, MS-SSIM, LPIPS, and per set FID / CMMD.",
      "Writes per_image.csv, summary.json, summary.md and rd_<metric>.png into --out; prints summary.json to stdout."
    })
public final class EvalCommand implements TacoCommand {

  @Spec CommandSpec spec;

  @Option(names = "--weights", arity = "1..*", paramLabel = "W",
      description = "TACO checkpoints (official .pth.tar or safetensors); one rate point each.")
  List<Path> weights = new ArrayList<>();

  @Option(names = "--preset", defaultValue = "full", description = "TACO size preset: full, small, tiny (default ${DEFAULT-VALUE}).")
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

  @Option(names = "--limit", defaultValue = "0", description = "Only the first N images (sorted); 0 = all.")
  int limit;

  @Option(names = "--save-reconstructions", description = "Write every reconstruction as PNG under OUT/reconstructions.")
  boolean saveReconstructions;

  @Option(names = "--keep-bitstreams", description = "Keep every bitstream under OUT/bitstreams.")
  boolean keepBitstreams;

  @Option(names = "--out", required = true, paramLabel = "RESULTS_DIR", description = "Output folder.")
  Path out;

  @Option(names = "--force", description = "Overwrite results in a non-empty --out.")
  boolean force;

  @Option(names = "--no-progress", description = "No progress bar.")
  boolean noProgress;

  @Override
  public Integer call() {
    EvalRunner.CaptionMode mode = parseCaptionMode(captionMode);
    checkOutput();
    List<String> notes = new ArrayList<>();
    EvalDataset ds = loadDataset(notes);

    List<ImageCodec> codecs = new ArrayList<>();
    if (!weights.isEmpty()) {
      TacoImageCodec.Container box = switch (container.toLowerCase(Locale.ROOT)) {
        case "compressai" -> TacoImageCodec.Container.COMPRESSAI;
        case "taco" -> TacoImageCodec.Container.TACO;
        default -> throw new BenchmarkException("--container must be compressai or taco, got '" + container + "'");
      };
      codecs.addAll(TacoCodecs.open(weights, TacoConfig.preset(preset), ScaleTable.fromId(scaleTable), box));
    }
    if (!noJpeg) {
      for (int q : jpegQualities) {
        codecs.add(new JpegCodec(q));
      }
    }
    for (String spec : external) {
      codecs.addAll(ExternalCodec.parse(spec));
    }
    List<ReferencePoints.Point> refs = new ArrayList<>();
    if (!noReference) {
      refs.addAll(ReferencePoints.builtin());
    }
    for (Path r : references) {
      refs.addAll(ReferencePoints.read(r));
    }
    refs = ReferencePoints.forDataset(refs, ds.name());

    if (!weights.isEmpty() && mode == EvalRunner.CaptionMode.DATASET && captions == null && cocoList == null) {
      throw new BenchmarkException("--captions is required to evaluate TACO in --caption-mode dataset"
          + " (or use --caption-mode empty)");
    }
    try (CaptionEncoder text = TacoCodecs.captionEncoder(weights.isEmpty(), clip, textEmbeddings);
        StandardMetrics metrics = StandardMetrics.open(lpipsWeights, lpipsConvention(lpipsInput), inception, cmmdClip)) {
      notes.addAll(metrics.notes());
      List<ImageMetric> imageMetrics = metrics.imageMetrics();
      List<SetMetric> setMetrics = metrics.setMetrics();
      EvalRunner runner = new EvalRunner(
          new EvalRunner.Options(out, mode, saveReconstructions, keepBitstreams, !noProgress));
      EvalResults results = runner.run(ds, codecs, text, imageMetrics, setMetrics, notes);
      ResultsWriter.writeAll(results, out);
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

  private EvalDataset loadDataset(List<String> notes) {
    if (cocoList == null) {
      EvalDataset ds = EvalDataset.folder(dataset, captions, limit);
      return datasetName == null ? ds : new EvalDataset(datasetName, ds.items());
    }
    if (captions == null) {
      throw new BenchmarkException("--coco-list needs --captions captions_val2014.json");
    }
    Coco30k.Preprocess pre = switch (cocoPreprocess.toLowerCase(Locale.ROOT)) {
      case "crop" -> Coco30k.Preprocess.CROP;
      case "resize-crop" -> Coco30k.Preprocess.RESIZE_CROP;
      case "none" -> Coco30k.Preprocess.NONE;
      default -> throw new BenchmarkException(
          "--coco-preprocess must be crop, resize-crop or none, got '" + cocoPreprocess + "'");
    };
    Path prepDir = out.resolve("prepared");
    Coco30k.Prepared p = Coco30k.prepare(cocoList, dataset, captions, prepDir, pre, limit);
    notes.add("MS-COCO: " + p.images() + " images from " + cocoList.getFileName() + ", preprocessing "
        + cocoPreprocess + ", caption = the one with the smallest annotation id in " + captions.getFileName()
        + (p.upscaled().isEmpty() ? "" : "; " + p.upscaled().size() + " image(s) shorter than 256 px were upscaled"));
    return new EvalDataset(datasetName == null ? "coco30k" : datasetName, p.items());
  }

  private void checkOutput() {
    if (Files.exists(out) && !Files.isDirectory(out)) {
      throw new BenchmarkException("--out " + out + " exists and is not a folder");
    }
    if (Files.isDirectory(out) && !force) {
      try (Stream<Path> s = Files.list(out)) {
        if (s.findAny().isPresent()) {
          throw new BenchmarkException("--out " + out + " is not empty; use --force to overwrite its results");
        }
      } catch (IOException e) {
        throw new BenchmarkException("cannot list " + out + ": " + e.getMessage(), e);
      }
    }
    try {
      Files.createDirectories(out);
    } catch (IOException e) {
      throw new BenchmarkException("cannot create " + out + ": " + e.getMessage(), e);
    }
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
