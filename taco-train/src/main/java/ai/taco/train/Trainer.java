package ai.taco.train;

import ai.taco.core.CaptionEncoder;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import ai.taco.core.TacoModel;
import ai.taco.train.data.Batch;
import ai.taco.train.data.Dataset;
import ai.taco.train.data.DatasetException;
import ai.taco.train.data.Loader;
import ai.taco.train.data.RandomCrop;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training loop of the official train.py ({@code train_one_epoch} + the per-epoch test and checkpoints), one
 * process, CPU or one device.
 *
 * <p>Per step, in the official order: zero grads; text features of the captions (no gradient); forward in training
 * mode; loss; backward; clip the global gradient norm over all model parameters; main Adam step (all parameters but
 * the quantiles, sorted names); aux loss backward; aux Adam step (quantiles). Per epoch: MultiStepLR step, the test
 * on the evaluation set (if any), the checkpoints (latest, and best per metric as the official code keeps them).
 *
 * <p>Memory: every step runs in an {@link NDScope}; only the parameters and the optimizer moments outlive it.
 * Determinism: the training-mode noise of the likelihoods is drawn after seeding the engine with (seed, step), and the
 * data depend only on (seed, epoch, index), so a resumed run repeats an uninterrupted one.
 */
public final class Trainer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

  /** Checkpoint file names (fixed, replaced atomically; the official code names files after their metrics). */
  public static final String RECENT = "checkpoint_recent.safetensors";

  /** Characters of the progress line (bar, counts, ETA and the loss terms). */
  static final int PROGRESS_WIDTH = 180;

  /** Consecutive skipped (non-finite) steps after which the run stops instead of skipping on. */
  static final int MAX_NON_FINITE_IN_A_ROW = 10;

  static final String STEPS_CSV = "steps.csv";
  static final String RUN_LOG = "train.log";
  static final String EPOCHS_CSV = "epochs.csv";

  /** Metrics of one optimizer step. */
  public record StepMetrics(
      long step, int epoch, double loss, double bpp, double mse, double lpips, double joint, double auxLoss,
      double gradNorm, double learningRate) {}

  /** What {@link #run()} did. */
  public record Summary(long steps, int epochsCompleted, List<StepMetrics> history, int skippedImages) {}

  private final TrainOptions options;
  private final Dataset dataset;
  private final CaptionEncoder captions;
  private final RateDistortionLoss loss;
  private final EpochEvaluator evaluator;
  private final NDManager manager;
  private final TacoModel model;
  private final LinkedHashMap<String, NDArray> params;
  private final Adam optimizer;
  private final Adam auxOptimizer;
  private final MultiStepLR scheduler;
  private TrainCheckpoint.Progress progress;
  private TrainCheckpoint.BestMetrics best;
  private java.io.PrintWriter runLog;
  private long skippedSteps;

  /**
   * @param resume a checkpoint to continue from, or null for a fresh run
   * @param evaluator per-epoch test, or null
   */
  public Trainer(
      TrainOptions options,
      Dataset dataset,
      CaptionEncoder captions,
      RateDistortionLoss loss,
      EpochEvaluator evaluator,
      TrainCheckpoint resume) {
    this.options = options;
    this.dataset = dataset;
    this.captions = captions;
    this.loss = loss;
    this.evaluator = evaluator;
    this.manager = NDManager.newBaseManager();
    this.model =
        resume == null
            ? TacoModel.create(options.config(), manager, options.seed())
            : TacoModel.load(resume.model(), options.config(), manager);
    this.params = model.parameters();
    for (NDArray p : params.values()) {
      p.setRequiresGradient(true);
    }
    // configure_optimizers: main group = every parameter not ending in ".quantiles", aux = the quantiles; both sorted.
    TreeMap<String, NDArray> main = new TreeMap<>();
    TreeMap<String, NDArray> aux = new TreeMap<>();
    params.forEach((k, v) -> (k.endsWith(".quantiles") ? aux : main).put(k, v));
    this.optimizer = new Adam(main, options.learningRate());
    this.auxOptimizer = new Adam(aux, options.auxLearningRate());
    this.scheduler = new MultiStepLR(optimizer, options.lrEpochs(), MultiStepLR.DEFAULT_GAMMA);
    if (resume == null) {
      progress = new TrainCheckpoint.Progress(0, 0, 0, options.seed());
      best = TrainCheckpoint.BestMetrics.initial();
    } else {
      if (resume.progress().seed() != options.seed()) {
        LOG.warn(
            "resuming with --seed {} but the checkpoint was trained with seed {}: the data order will differ from an"
                + " uninterrupted run",
            options.seed(),
            resume.progress().seed());
      }
      resume.optimizer().restore(optimizer, manager);
      resume.auxOptimizer().restore(auxOptimizer, manager);
      scheduler.setLastEpoch(resume.schedulerLastEpoch());
      progress =
          new TrainCheckpoint.Progress(
              resume.progress().epoch(), resume.progress().position(), resume.progress().step(), options.seed());
      best = resume.best();
    }
  }

  public TacoModel model() {
    return model;
  }

  public NDManager manager() {
    return manager;
  }

  /** Trains until {@code epochs} or {@code maxSteps}; writes checkpoints and CSVs under {@code out}. */
  public Summary run() {
    Path out = options.out();
    try {
      Files.createDirectories(out);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create output folder " + out, e);
    }
    try {
      runLog = new java.io.PrintWriter(java.nio.file.Files.newBufferedWriter(out.resolve(RUN_LOG),
          java.nio.charset.StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND), true);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open " + out.resolve(RUN_LOG), e);
    }
    try {
      return runLogged(out);
    } finally {
      runLog.close();
      runLog = null;
    }
  }

  private Summary runLogged(Path out) {
    logStart();
    List<StepMetrics> history = new ArrayList<>();
    int epochsCompleted = 0;
    Loader.Options lo =
        new Loader.Options(
            new RandomCrop(options.patchHeight(), options.patchWidth()),
            options.batchSize(),
            options.seed(),
            options.loaderThreads(),
            options.prefetchBatches());
    try (Loader loader = new Loader(dataset, lo);
        CsvLog steps = new CsvLog(out.resolve(STEPS_CSV), CsvLog.STEP_HEADER);
        CsvLog epochs = new CsvLog(out.resolve(EPOCHS_CSV), CsvLog.EPOCH_HEADER)) {
      long perEpoch = loader.batchesPerEpoch();
      if (perEpoch == 0) {
        throw new DatasetException(
            "the dataset has " + dataset.size() + " images, fewer than one batch of " + options.batchSize());
      }
      long total = (long) options.epochs() * perEpoch;
      if (options.maxSteps() > 0) {
        total = Math.min(total, options.maxSteps());
      }
      try (ProgressBar bar = progressBar(total)) {
        while (progress.epoch() < options.epochs()) {
          int epoch = progress.epoch();
          Iterator<Batch> it = loader.epoch(epoch, progress.position());
          double sumLoss = 0;
          int n = 0;
          long t0 = System.nanoTime();
          int images = 0;
          int nonFiniteInARow = 0;
          while (it.hasNext()) {
            if (options.maxSteps() > 0 && progress.step() >= options.maxSteps()) {
              break;
            }
            Batch b = it.next();
            StepMetrics m = step(b, epoch);
            history.add(m);
            steps.row(m.step(), m.epoch(), m.loss(), m.bpp(), m.mse(), m.lpips(), m.joint(), m.auxLoss(),
                m.gradNorm(), m.learningRate());
            progress = new TrainCheckpoint.Progress(epoch, b.endPosition(), progress.step() + 1, options.seed());
            sumLoss += m.loss();
            n++;
            images += b.size();
            double seconds = (System.nanoTime() - t0) / 1e9;
            if (bar != null) {
              bar.step();
              bar.setExtraMessage(
                  String.format(Locale.ROOT, " | loss %.4f bpp %.3f mse %.5f%s%s aux %.1f | %.2f img/s", m.loss(), m.bpp(),
                      m.mse(), Double.isNaN(m.lpips()) ? "" : String.format(Locale.ROOT, " lpips %.4f", m.lpips()),
                      Double.isNaN(m.joint()) ? "" : String.format(Locale.ROOT, " joint %.4f", m.joint()),
                      m.auxLoss(), images / seconds));
            }
            nonFiniteInARow = Double.isFinite(m.loss()) && Double.isFinite(m.gradNorm()) ? 0 : nonFiniteInARow + 1;
            if (nonFiniteInARow >= MAX_NON_FINITE_IN_A_ROW) {
              throw new IllegalStateException("loss or gradients were not finite for " + nonFiniteInARow
                  + " steps in a row (last loss " + m.loss() + " at step " + m.step()
                  + "); lower the learning rate or check the data (latest checkpoint: " + out.resolve(RECENT) + ")");
            }
          }
          if (options.maxSteps() > 0 && progress.step() >= options.maxSteps() && it.hasNext()) {
            saveCheckpoint(out.resolve(RECENT));
            note(false, "stopped after " + progress.step() + " steps (--max-steps), mid-epoch " + (epoch + 1)
                + "; checkpoint " + out.resolve(RECENT));
            break;
          }
          // End of the epoch (the loader may have dropped an incomplete last batch).
          double epochLearningRate = optimizer.learningRate();
          scheduler.step();
          progress = new TrainCheckpoint.Progress(epoch + 1, 0, progress.step(), options.seed());
          epochsCompleted++;
          EpochEvaluator.Result r = null;
          if (evaluator != null) {
            Path figures = out.resolve("figures").resolve(Integer.toString(epoch + 1));
            r = evaluator.evaluate(model, epoch, figures);
            note(false, String.format(Locale.ROOT,
                "epoch %d test: bpp %.4f, PSNR %.4f dB, MS-SSIM %.4f, LPIPS %.4f (%d images)",
                epoch + 1, r.bpp(), r.psnr(), r.msSsim(), r.lpips(), r.images()));
          }
          note(false, String.format(Locale.ROOT, "epoch %d done: %d steps, mean loss %.5f, step %d", epoch + 1, n,
              n == 0 ? Double.NaN : sumLoss / n, progress.step()));
          epochs.row(epoch + 1, n == 0 ? Double.NaN : sumLoss / n, n,
              r == null ? Double.NaN : r.bpp(), r == null ? Double.NaN : r.psnr(),
              r == null ? Double.NaN : r.msSsim(), r == null ? Double.NaN : r.lpips(), epochLearningRate);
          saveBest(out, r);
          saveCheckpoint(out.resolve(RECENT));
          if (options.maxSteps() > 0 && progress.step() >= options.maxSteps()) {
            break;
          }
        }
      }
      return new Summary(progress.step(), epochsCompleted, history, loader.skippedImages());
    }
  }

  private ProgressBar progressBar(long total) {
    if (!options.progressBar()) {
      return null;
    }
    return new ProgressBarBuilder()
        .setTaskName("train")
        .setInitialMax(total)
        .setStyle(ProgressBarStyle.ASCII)
        .setUnit(" steps", 1)
        .showSpeed(new java.text.DecimalFormat("0.00"))
        // Without a terminal the detected width is tiny; keep the loss terms readable in logs and pipes.
        .setMaxRenderedLength(PROGRESS_WIDTH)
        .startsFrom(progress.step(), java.time.Duration.ZERO)
        .build();
  }

  private void logStart() {
    note(false, "TACO training: preset " + options.preset() + ", " + options.config());
    note(false, "dataset: " + dataset.description());
    if (!dataset.captioned()) {
      note(true, "the dataset has NO captions: every caption is the empty string");
    }
    note(!captions.usesCaptions(), "captions: " + captions.source());
    if (loss.lpipsCoefficient() == 0) {
      note(true, "k_P = 0: no LPIPS term in the loss");
    }
    if (loss.jointCoefficient() == 0) {
      note(true, "k_J = 0: no joint image-text term in the loss");
    }
    note(false, String.format(Locale.ROOT,
        "lambda %g, k_P (LPIPS) %g, k_J (joint image-text) %g, batch %d, patch %dx%d, lr %g (x0.1 at epochs %s), aux lr"
            + " %g, clip %g, seed %d, epochs %d%s",
        options.lambda(), loss.lpipsCoefficient(), loss.jointCoefficient(), options.batchSize(),
        options.patchHeight(), options.patchWidth(), options.learningRate(),
        java.util.Arrays.toString(options.lrEpochs()), options.auxLearningRate(), options.clipMaxNorm(),
        options.seed(), options.epochs(), options.maxSteps() > 0 ? ", max steps " + options.maxSteps() : ""));
    if (progress.step() > 0) {
      note(false, "resuming at epoch " + (progress.epoch() + 1) + " (position " + progress.position()
          + " of its permutation), step " + progress.step());
    }
  }

  /** A line for both the SLF4J log and {@code out/train.log}. */
  private void note(boolean warning, String message) {
    if (warning) {
      LOG.warn(message);
    } else {
      LOG.info(message);
    }
    if (runLog != null) {
      runLog.println(java.time.Instant.now() + (warning ? " WARN " : " INFO ") + message);
    }
  }

  /** One optimizer step on one batch (public for tests and the throughput benchmark). */
  public StepMetrics step(Batch b, int epoch) {
    long stepIndex = progress.step();
    try (NDScope scope = new NDScope()) {
      zeroGradients();
      NDArray x = manager.create(b.pixels(), new Shape(b.size(), 3, b.height(), b.width()));
      NDArray text = captions.encode(manager, b.captions());
      // The likelihoods' training noise comes from the engine RNG: seed it per step so a resumed run repeats.
      Engine.getInstance().setRandomSeed((int) (mixSeed(options.seed(), stepIndex) & 0x7fffffff));
      RateDistortionLoss.Terms terms;
      try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        terms = loss.compute(model.forward(x, text, true), x, b.captions());
        gc.backward(terms.loss());
      }
      // train.py clips model.parameters(): the quantiles too (their main-loss gradient is zero in training).
      List<NDArray> grads = new ArrayList<>();
      for (NDArray p : params.values()) {
        grads.add(p.getGradient());
      }
      double gradNorm =
          options.clipMaxNorm() > 0
              ? GradientClipping.clipGradNorm(grads, options.clipMaxNorm())
              : GradientClipping.totalNorm(grads);
      if (!Double.isFinite(gradNorm)) {
        // torch would apply NaN/inf updates and destroy the weights; skip this step instead and say so.
        skippedSteps++;
        List<String> bad = new ArrayList<>();
        int i = 0;
        for (String name : params.keySet()) {
          if (!Float.isFinite(grads.get(i++).abs().sum().getFloat())) {
            bad.add(name);
          }
        }
        LOG.warn("step {}: gradient norm is {} (non-finite gradients in {} of {} parameters, e.g. {}), update skipped"
                + " ({} skipped so far)", stepIndex + 1, gradNorm, bad.size(), params.size(),
            bad.size() > 5 && !LOG.isDebugEnabled() ? bad.subList(0, 5) : bad, skippedSteps);
        return new StepMetrics(stepIndex + 1, epoch, terms.loss().getFloat(), terms.bpp().getFloat(),
            terms.mse().getFloat(), terms.lpips() == null ? Double.NaN : terms.lpips().getFloat(),
            terms.joint() == null ? Double.NaN : terms.joint().getFloat(), Double.NaN, gradNorm,
            optimizer.learningRate());
      }
      double lr = optimizer.learningRate();
      optimizer.step();
      NDArray aux;
      try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        aux = model.auxLoss();
        gc.backward(aux);
      }
      auxOptimizer.step();
      return new StepMetrics(
          stepIndex + 1,
          epoch,
          terms.loss().getFloat(),
          terms.bpp().getFloat(),
          terms.mse().getFloat(),
          terms.lpips() == null ? Double.NaN : terms.lpips().getFloat(),
          terms.joint() == null ? Double.NaN : terms.joint().getFloat(),
          aux.getFloat(),
          gradNorm,
          lr);
    }
  }

  /** optimizer.zero_grad() + aux_optimizer.zero_grad(): gradients accumulate across backward calls otherwise. */
  private void zeroGradients() {
    for (NDArray p : params.values()) {
      if (p instanceof PtNDArray pt && p.hasGradient()) {
        JniUtils.zeroGrad(pt);
      }
    }
  }

  static long mixSeed(long seed, long step) {
    long z = seed * 0x9E3779B97F4A7C15L + step;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** A snapshot of the whole training state. */
  public TrainCheckpoint checkpoint() {
    Map<String, String> info = new LinkedHashMap<>();
    info.put("preset", options.preset());
    info.put("lambda", Double.toString(options.lambda()));
    info.put("lpips_coefficient", Double.toString(loss.lpipsCoefficient()));
    info.put("joint_image_text_loss_coefficient", Double.toString(loss.jointCoefficient()));
    info.put("batch_size", Integer.toString(options.batchSize()));
    info.put("patch_size", options.patchHeight() + "x" + options.patchWidth());
    return new TrainCheckpoint(
        model.stateDict(),
        TrainCheckpoint.OptimizerState.of(optimizer),
        TrainCheckpoint.OptimizerState.of(auxOptimizer),
        scheduler.lastEpoch(),
        progress,
        best,
        info);
  }

  private void saveCheckpoint(Path file) {
    checkpoint().write(file);
  }

  /** train.py keeps one checkpoint per metric: best PSNR, best MS-SSIM, lowest bpp, lowest LPIPS. */
  private void saveBest(Path out, EpochEvaluator.Result r) {
    if (r == null) {
      return;
    }
    double psnr = best.psnr();
    double msSsim = best.msSsim();
    double bpp = best.bpp();
    double lp = best.lpips();
    List<String> improved = new ArrayList<>();
    if (r.psnr() > psnr) {
      psnr = r.psnr();
      improved.add("psnr");
    }
    if (r.msSsim() > msSsim) {
      msSsim = r.msSsim();
      improved.add("ms_ssim");
    }
    if (r.bpp() < bpp) {
      bpp = r.bpp();
      improved.add("bpp");
    }
    if (!Double.isNaN(r.lpips()) && r.lpips() < lp) {
      lp = r.lpips();
      improved.add("lpips");
    }
    best = new TrainCheckpoint.BestMetrics(psnr, msSsim, bpp, lp);
    for (String metric : improved) {
      saveCheckpoint(out.resolve("checkpoint_best_" + metric + ".safetensors"));
    }
  }

  @Override
  public void close() {
    optimizer.close();
    auxOptimizer.close();
    manager.close();
  }
}
