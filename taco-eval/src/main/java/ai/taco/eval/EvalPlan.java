package ai.taco.eval;

import ai.taco.eval.codec.CodecSpec;
import ai.taco.core.CaptionEncoder;
import ai.taco.eval.bench.BenchmarkException;
import ai.taco.eval.bench.Coco30k;
import ai.taco.eval.bench.EvalRunner;
import ai.taco.eval.bench.ExternalCodec;
import ai.taco.eval.bench.ImageCodec;
import ai.taco.eval.bench.JpegCodec;
import ai.taco.eval.bench.StandardMetrics;
import ai.taco.eval.bench.TacoCodecs;
import ai.taco.eval.bench.TacoImageCodec;
import ai.taco.metrics.CmmdEmbedder;
import ai.taco.metrics.Lpips;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Everything one rate-distortion evaluation depends on: the dataset, the operating points, the text condition, the
 * metrics with their recipes, and the outputs. {@code taco eval} and {@code taco-spark eval} build the same plan from
 * the same options ({@link ai.taco.eval.options.EvalOptions}); Spark ships it to its executors as it is. Serializable
 * both ways: Java serialization (paths are kept as strings, as {@link Path} is not serializable) and JSON (Jackson
 * reads and writes records).
 *
 * <p>String-valued choices keep the option spellings ({@code float|png8}, {@code taco|standard}, ...) and are
 * checked by {@link #validate()}, so a plan read from JSON fails with the same message a command line would.
 */
public record EvalPlan(Data dataset, Points points, Text text, Metrics metrics, Outputs outputs)
    implements Serializable {

  private static final long serialVersionUID = 1L;

  /**
   * The images: a folder ({@code folder} sorted by name, captions {@code {"file": "caption"}}) or MS-COCO 30k
   * ({@code cocoList} set: {@code folder} is val2014 and {@code captions} the COCO captions file).
   *
   * @param name name in the outputs (null: the folder's name, or coco30k)
   * @param cocoPreprocess crop, resize-crop or none
   * @param limit only the first N images; 0: all
   */
  public record Data(String folder, String name, String captions, String cocoList, String cocoPreprocess, int limit)
      implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /**
   * The operating points, in run order: one per TACO checkpoint, then the JPEG qualities, then external codecs.
   *
   * @param taco one TACO codec per checkpoint
   * @param container file whose size is TACO's rate: compressai (the official .bin) or taco
   * @param external {@code NAME[@Q1,...]:ENCODE;DECODE} specifications (docs/benchmarks.md)
   */
  public record Points(List<CodecSpec> taco, String container, List<Integer> jpegQualities, List<String> external)
      implements Serializable {
    private static final long serialVersionUID = 1L;

    public Points {
      taco = List.copyOf(taco);
      jpegQualities = List.copyOf(jpegQualities);
      external = List.copyOf(external);
    }
  }

  /**
   * TACO's text condition.
   *
   * @param captionMode dataset (each image's caption) or empty
   * @param clip CLIP ViT-B/32 folder of the caption encoder, or null
   * @param textEmbeddings precomputed per-image embeddings, or null
   */
  public record Text(String captionMode, String clip, String textEmbeddings) implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /**
   * The metrics and their recipes; a set metric without weights is skipped.
   *
   * @param on float (the decoder's output) or png8 (saved as an 8-bit PNG and read back)
   * @param lpipsInput taco ([0,1] as the official code) or standard ([-1,1])
   * @param pieappWeights PieAPPv0.1 weights, or null (no pieapp column)
   * @param cmmdClip CLIP folder whose vision tower embeds images for CMMD
   * @param cmmdRecipe CMMD embedding recipe ({@link CmmdEmbedder.Recipe} id)
   */
  public record Metrics(String on, List<String> lpipsWeights, String lpipsInput, String pieappWeights,
      String inception, String cmmdClip, String cmmdRecipe) implements Serializable {
    private static final long serialVersionUID = 1L;

    public Metrics {
      lpipsWeights = List.copyOf(lpipsWeights);
    }
  }

  /**
   * Where and what to write.
   *
   * @param references extra published-point CSV files
   * @param builtinReferences draw the shipped reference points
   * @param force start over in a non-empty {@code out}
   * @param resume continue the interrupted run in {@code out}
   */
  public record Outputs(String out, boolean saveReconstructions, boolean keepBitstreams, boolean force,
      boolean resume, List<String> references, boolean builtinReferences) implements Serializable {
    private static final long serialVersionUID = 1L;

    public Outputs {
      references = List.copyOf(references);
    }
  }

  /** Checks every choice and combination that needs no file access; returns this plan. */
  public EvalPlan validate() {
    captionMode();
    metricsOn();
    lpipsConvention();
    cmmdRecipe();
    if (!points.taco().isEmpty()) {
      container();
    }
    if (dataset.cocoList() != null) {
      cocoPreprocess();
      if (dataset.captions() == null) {
        throw new BenchmarkException("--coco-list needs --captions captions_val2014.json");
      }
    }
    if (outputs.force() && outputs.resume()) {
      throw new BenchmarkException("--force starts --out over, --resume continues it: give one of them");
    }
    return this;
  }

  /** The operating points in run order; TACO weights load on first use. */
  public List<ImageCodec> openCodecs() {
    List<ImageCodec> codecs = new ArrayList<>();
    if (!points.taco().isEmpty()) {
      codecs.addAll(TacoCodecs.open(points.taco(), container()));
    }
    for (int q : points.jpegQualities()) {
      codecs.add(new JpegCodec(q));
    }
    for (String spec : points.external()) {
      codecs.addAll(ExternalCodec.parse(spec));
    }
    return codecs;
  }

  /** TACO's caption encoder (CLIP, precomputed embeddings or zeros). */
  public CaptionEncoder openCaptionEncoder() {
    return TacoCodecs.captionEncoder(points.taco().isEmpty(), path(text.clip()), path(text.textEmbeddings()));
  }

  /** The metrics, their weights loaded. */
  public StandardMetrics openMetrics() {
    return openMetrics(false);
  }

  /** The metrics; with {@code deferWeights} each network loads on its metric's first image (a driver that measures
   * no image loads none). */
  public StandardMetrics openMetrics(boolean deferWeights) {
    return StandardMetrics.open(paths(metrics.lpipsWeights()), lpipsConvention(), path(metrics.pieappWeights()),
        path(metrics.inception()), path(metrics.cmmdClip()), cmmdRecipe(), deferWeights);
  }

  public EvalRunner.CaptionMode captionMode() {
    return switch (lower(text.captionMode())) {
      case "dataset" -> EvalRunner.CaptionMode.DATASET;
      case "empty" -> EvalRunner.CaptionMode.EMPTY;
      default -> throw new BenchmarkException("--caption-mode must be dataset or empty, got '" + text.captionMode()
          + "'");
    };
  }

  public EvalRunner.MetricsOn metricsOn() {
    return switch (lower(metrics.on())) {
      case "float" -> EvalRunner.MetricsOn.FLOAT;
      case "png8" -> EvalRunner.MetricsOn.PNG8;
      default -> throw new BenchmarkException("--metrics-on must be float or png8, got '" + metrics.on() + "'");
    };
  }

  public CmmdEmbedder.Recipe cmmdRecipe() {
    try {
      return CmmdEmbedder.Recipe.parse(metrics.cmmdRecipe());
    } catch (ai.taco.metrics.MetricException e) {
      throw new BenchmarkException(e.getMessage());
    }
  }

  public Lpips.InputConvention lpipsConvention() {
    try {
      return Lpips.InputConvention.parse(metrics.lpipsInput());
    } catch (ai.taco.metrics.MetricException e) {
      throw new BenchmarkException(e.getMessage());
    }
  }

  public TacoImageCodec.Container container() {
    return switch (lower(points.container())) {
      case "compressai" -> TacoImageCodec.Container.COMPRESSAI;
      case "taco" -> TacoImageCodec.Container.TACO;
      default -> throw new BenchmarkException("--container must be compressai or taco, got '" + points.container()
          + "'");
    };
  }

  public Coco30k.Preprocess cocoPreprocess() {
    return switch (lower(dataset.cocoPreprocess())) {
      case "crop" -> Coco30k.Preprocess.CROP;
      case "resize-crop" -> Coco30k.Preprocess.RESIZE_CROP;
      case "none" -> Coco30k.Preprocess.NONE;
      default -> throw new BenchmarkException(
          "--coco-preprocess must be crop, resize-crop or none, got '" + dataset.cocoPreprocess() + "'");
    };
  }

  /** {@code null} for {@code null}. */
  static Path path(String s) {
    return s == null ? null : Path.of(s);
  }

  static List<Path> paths(List<String> s) {
    return s.stream().map(Path::of).toList();
  }

  private static String lower(String s) {
    return s == null ? "" : s.toLowerCase(Locale.ROOT);
  }
}
