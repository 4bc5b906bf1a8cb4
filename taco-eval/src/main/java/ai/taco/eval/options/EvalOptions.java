package ai.taco.eval.options;

import ai.taco.eval.EvalPlan;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The options of an evaluation ({@code taco eval}, {@code taco-spark eval}) as a picocli mixin; {@link #plan()} turns
 * them into the {@link EvalPlan} both applications run.
 */
public final class EvalOptions {

  /** The TACO checkpoints (one rate point each) and how to run them. */
  @Mixin CodecOptions codec;

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

  @Option(names = "--cmmd-recipe", defaultValue = "cmmd-pytorch",
      paramLabel = "cmmd-pytorch|google-research|clip-no-projection",
      description = "CMMD embedding recipe, the same option as taco cmmd: cmmd-pytorch (default: whole image, torch"
          + " bicubic, image_embeds), google-research (centre crop, antialiased bicubic on 8 bits), clip-no-projection"
          + " (the paper's wording: pooler output without visual_projection).")
  String cmmdRecipe;

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

  public EvalOptions() {}

  /** Whether to show progress (--no-progress not given). */
  public boolean progress() {
    return !noProgress;
  }

  /** The plan these options describe (checked: a bad choice fails here, before any work). */
  public EvalPlan plan() {
    return new EvalPlan(
        new EvalPlan.Data(str(dataset), datasetName, str(captions), str(cocoList), cocoPreprocess, limit),
        new EvalPlan.Points(codec.specs(), container, noJpeg ? List.of() : jpegQualities, external),
        new EvalPlan.Text(captionMode, str(clip), str(textEmbeddings)),
        new EvalPlan.Metrics(metricsOn, strs(lpipsWeights), lpipsInput, str(pieappWeights), str(inception),
            str(cmmdClip), cmmdRecipe),
        new EvalPlan.Outputs(str(out), saveReconstructions, keepBitstreams, force, resume, strs(references),
            !noReference))
        .validate();
  }

  private static String str(Path p) {
    return p == null ? null : p.toString();
  }

  private static List<String> strs(List<Path> ps) {
    List<String> s = new ArrayList<>();
    for (Path p : ps) {
      s.add(p.toString());
    }
    return s;
  }
}
