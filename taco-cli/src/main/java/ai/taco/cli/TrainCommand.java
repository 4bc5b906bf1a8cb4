package ai.taco.cli;

import ai.taco.core.tensor.Precision;
import ai.taco.core.TacoConfig;
import ai.taco.core.nn.ReducedPrecision;
import ai.taco.core.weights.StateDict;
import ai.taco.train.RateDistortionLoss;
import ai.taco.train.TrainCheckpoint;
import ai.taco.train.TrainOptions;
import ai.taco.train.Trainer;
import ai.taco.train.data.CaptionedDataset;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code taco train}: the official train.py on the JVM (flags mirror it; see docs/training.md). */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    description = {
      "Train TACO (rate + lambda*255^2*MSE + kP*LPIPS + kJ*joint image-text loss) on MS-COCO or an image folder.",
      "Without --clip and --lpips-weights, kP = kJ = 0 and captions are not used (said at start)."
    })
public final class TrainCommand implements TacoCommand {

  private static final Logger LOG = LoggerFactory.getLogger(TrainCommand.class);

  /** Paper values of the two perceptual coefficients (TACO Section 4). */
  static final double PAPER_LPIPS_COEFFICIENT = 3.5;

  static final double PAPER_JOINT_COEFFICIENT = 0.0025;

  @Option(names = "--dataset", required = true, description = "COCO root (annotations/captions_train2014|2017.json)"
      + " or a folder of images")
  Path dataset;

  @Option(names = "--captions", description = "captions JSON {\"file.png\": \"caption\"} for an image folder")
  Path captions;

  @Option(names = "--out", required = true, description = "output folder: checkpoints, CSVs, per-epoch test images")
  Path out;

  @Option(names = "--force", description = "start a new run in --out even if it already holds one")
  boolean force;

  @Option(names = "--preset", defaultValue = "full", description = "full | small | tiny (default: ${DEFAULT-VALUE})")
  String preset;

  @Option(names = "--lambda", defaultValue = "0.0004", description = "rate-distortion trade-off (default: ${DEFAULT-VALUE};"
      + " paper: 0.0004 0.0008 0.0016 0.004 0.009 0.015)")
  double lambda;

  @Option(names = "--lpips-coefficient", description = "kP (default 3.5 with --lpips-weights, else 0)")
  Double lpipsCoefficient;

  @Option(names = "--joint-image-text-loss-coefficient", description = "kJ (default 0.0025 with --clip, else 0)")
  Double jointCoefficient;

  @Option(names = {"-e", "--epochs"}, defaultValue = "50", description = "epochs (default: ${DEFAULT-VALUE})")
  int epochs;

  @Option(names = {"-lr", "--learning-rate"}, defaultValue = "1e-4", description = "default: ${DEFAULT-VALUE}")
  double learningRate;

  @Option(names = "--aux-learning-rate", defaultValue = "1e-3", description = "default: ${DEFAULT-VALUE}")
  double auxLearningRate;

  @Option(names = "--batch-size", defaultValue = "4", description = "default: ${DEFAULT-VALUE}")
  int batchSize;

  @Option(names = "--patch-size", arity = "2", description = "crop H W (default: 256 256)")
  int[] patchSize = {256, 256};

  @Option(names = "--seed", defaultValue = "100", description = "data order, crops, captions, init (default: ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--clip-max-norm", defaultValue = "1.0", description = "gradient clipping, 0 = off (default: ${DEFAULT-VALUE})")
  double clipMaxNorm;

  @Option(names = "--lr-epoch", arity = "1..*", description = "MultiStepLR milestones, x0.1 each (default: 45 48)")
  int[] lrEpoch = {45, 48};

  @Option(names = "--checkpoint", description = "resume from this training checkpoint")
  Path checkpoint;

  @Option(names = "--init", description = "start a new run from these TACO weights (.pth or safetensors) instead of"
      + " a random init; not a resume (fresh optimizers, step 0)")
  Path init;

  @Option(names = "--freeze-base", description = "with --init: train the text adapter only, every other tensor stays"
      + " as loaded (paper, Appendix C)")
  boolean freezeBase;

  @Option(names = "--max-steps", defaultValue = "0", description = "stop after N steps in total (0: no limit)")
  long maxSteps;

  @Option(names = "--precision", defaultValue = "fp32", converter = PrecisionConverter.class,
      description = "arithmetic of gA/gS's convolutions, forward and backward: fp32 (default) or bf16 (experimental;"
          + " docs/performance.md)")
  Precision precision;

  @Option(names = "--clip", description = "folder with the CLIP ViT-B/32 weights (config.json, tokenizer.json, weights)")
  Path clip;

  @Option(names = "--lpips-weights", arity = "1..2", description = "LPIPS state dict, or torchvision alexnet .pth + lpips alex.pth")
  Path[] lpipsWeights;

  @Option(names = "--lpips-input", defaultValue = "taco", paramLabel = "taco|standard",
      description = "LPIPS input of the loss: taco = [0,1] fed as is, as the official training code (default);"
          + " standard = mapped to [-1,1]. Same option and values as taco eval / taco metrics.")
  String lpipsConvention;

  @Option(names = "--eval-dir", description = "per-epoch test images (Kodak in the paper)")
  Path evalDir;

  @Option(names = "--eval-captions", description = "captions JSON of --eval-dir")
  Path evalCaptions;

  @Option(names = "--loader-threads", defaultValue = "2", description = "image decoding threads (default: ${DEFAULT-VALUE})")
  int loaderThreads;

  @Option(names = "--no-progress", description = "no progress bar")
  boolean noProgress;

  @Override
  public Integer call() throws Exception {
    if (init != null && checkpoint != null) {
      throw new IllegalArgumentException("--init starts a new run from weights and --checkpoint resumes a run: give one"
          + " (a run started with --init --freeze-base resumes frozen from its checkpoint)");
    }
    if (freezeBase && init == null) {
      throw new IllegalArgumentException("--freeze-base needs --init WEIGHTS (a randomly initialised base is not worth"
          + " freezing)");
    }
    if (checkpoint == null && !force && Files.exists(out.resolve(Trainer.RECENT))) {
      throw new IllegalArgumentException(out + " already holds a run (" + Trainer.RECENT + "): resume it with"
          + " --checkpoint " + out.resolve(Trainer.RECENT) + ", or pass --force to start over there");
    }
    if (checkpoint != null && !Files.isRegularFile(checkpoint)) {
      throw new IllegalArgumentException("checkpoint not found: " + checkpoint);
    }
    if (evalCaptions != null && evalDir == null) {
      throw new IllegalArgumentException("--eval-captions needs --eval-dir");
    }
    double kp = resolveCoefficient("--lpips-coefficient", lpipsCoefficient, PAPER_LPIPS_COEFFICIENT,
        lpipsWeights != null, "--lpips-weights");
    double kj = resolveCoefficient("--joint-image-text-loss-coefficient", jointCoefficient, PAPER_JOINT_COEFFICIENT,
        clip != null, "--clip");
    TacoConfig config = TacoConfig.preset(preset);
    TrainOptions options = new TrainOptions(preset, config, lambda, kp, kj, epochs, learningRate, auxLearningRate,
        batchSize, patchSize[0], patchSize[1], seed, clipMaxNorm, lrEpoch, out, maxSteps, loaderThreads, 2);
    CaptionedDataset data = CaptionedDataset.open(dataset, captions);
    TrainCheckpoint resume = checkpoint == null ? null : TrainCheckpoint.read(checkpoint);
    Trainer.Init start = init == null ? null : new Trainer.Init(init.toString(), StateDict.load(init), freezeBase);
    try (Components c = Components.create(config, clip, lpipsWeights, lpipsConvention, kp, kj, evalDir,
            evalCaptions);
        Trainer trainer = new Trainer(options, data,
            c.captionEncoder(), new RateDistortionLoss(lambda, kp, c.perceptual(), kj, c.joint()), c.evaluator(),
            resume, start)) {
      if (!noProgress) {
        trainer.addListener(new TrainingProgress());
      }
      Trainer.Summary s;
      // Steps run on this thread: the request reaches gA/gS of every forward pass (TacoModel), nothing else.
      try (ReducedPrecision.Scope p = ReducedPrecision.request(precision)) {
        s = trainer.run();
      }
      Map<String, Object> result = new LinkedHashMap<>();
      result.put("steps", s.steps());
      result.put("epochs_completed", s.epochsCompleted());
      result.put("skipped_images", s.skippedImages());
      if (!s.history().isEmpty()) {
        result.put("last_loss", s.history().get(s.history().size() - 1).loss());
      }
      result.put("checkpoint", out.resolve(Trainer.RECENT).toString());
      System.out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(result));
    }
    return 0;
  }

  /** Default = paper value when weights are given, else 0 (said loudly); explicit > 0 without weights is an error. */
  static double resolveCoefficient(String flag, Double given, double paper, boolean haveWeights, String weightsFlag) {
    if (given == null) {
      if (haveWeights) {
        return paper;
      }
      LOG.warn("{} = 0: no {} given (pretrained weights are needed for this loss term)", flag, weightsFlag);
      return 0;
    }
    if (given < 0) {
      throw new IllegalArgumentException(flag + " must be >= 0, got " + given);
    }
    if (given > 0 && !haveWeights) {
      throw new IllegalArgumentException(flag + " " + given + " needs " + weightsFlag
          + " (pretrained weights); without them use " + flag + " 0");
    }
    return given;
  }
}
