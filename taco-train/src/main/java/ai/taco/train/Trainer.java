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
import ai.taco.core.error.WeightsException;
import ai.taco.core.tensor.HostTensor;
import ai.taco.train.data.CaptionedDataset;
import ai.taco.train.data.ImageTextBatch;
import ai.taco.train.data.DatasetException;
import ai.taco.train.data.Loader;
import ai.taco.train.data.RandomCrop;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training loop of the official train.py ({@code train_one_epoch} + the per-epoch test and checkpoints), one
 * process, CPU or one device.
 *
 * <p>Per step, in the official order: zero grads; text features of the captions (no gradient); forward in training
 * mode; loss; backward; clip the global gradient norm over all model parameters; main Adam step (all parameters but
 * the quantiles, sorted names); aux loss backward; aux Adam step (quantiles). Per epoch: MultiStepLR step, the test
 * on the evaluation set (if any), the best-so-far test metrics. What is written (train.log, CSVs, the checkpoints:
 * latest, and best per metric as the official code keeps them) are {@link TrainerListener}s; an application adds its
 * own (the command line: a progress bar).
 *
 * <p>Memory: every step runs in an {@link NDScope}; only the parameters and the optimizer moments outlive it.
 * Determinism: the training-mode noise of the likelihoods is drawn after seeding the engine with (seed, step), and the
 * data depend only on (seed, epoch, index), so a resumed run repeats an uninterrupted one.
 */
public final class Trainer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

  /** Checkpoint file names (fixed, replaced atomically; the official code names files after their metrics). */
  public static final String RECENT = "checkpoint_recent.safetensors";

  /** Consecutive skipped (non-finite) steps after which the run stops instead of skipping on. */
  static final int MAX_NON_FINITE_IN_A_ROW = 10;

  static final String STEPS_CSV = "steps.csv";
  static final String RUN_LOG = "train.log";
  static final String EPOCHS_CSV = "epochs.csv";

  /** Metrics of one optimizer step. */
  public record StepMetrics(
      long step, int epoch, double loss, double bpp, double mse, double lpips, double joint, double auxLoss,
      double gradNorm, double learningRate) {}

  /**
   * Start from existing weights instead of a random init (a new run, not a resume: fresh optimizers, step 0).
   *
   * @param source where the weights come from, for error messages (a file name)
   * @param weights an official state dict ({@code module.} stripped)
   * @param freezeBase train the text adapter only (paper, Appendix C): every other tensor, the entropy bottleneck's
   *     quantiles included, keeps its initial value bit for bit
   */
  public record Init(String source, Map<String, HostTensor> weights, boolean freezeBase) {}

  /** Checkpoint info key that marks a run training the text adapter only (a resume keeps it frozen). */
  static final String FREEZE_BASE_INFO = "freeze_base";

  /** What {@link #run()} did. */
  public record Summary(long steps, int epochsCompleted, List<StepMetrics> history, int skippedImages) {}

  private final TrainOptions options;
  private final CaptionedDataset dataset;
  private final CaptionEncoder captions;
  private final RateDistortionLoss loss;
  private final EpochEvaluator evaluator;
  private final NDManager manager;
  private final TacoModel model;
  private final LinkedHashMap<String, NDArray> params;
  /** What the optimizers update and gradient clipping measures: every parameter, or the adapter's when frozen. */
  private final LinkedHashMap<String, NDArray> trainable;
  private final boolean freezeBase;
  private final TorchAdam optimizer;
  private final TorchAdam auxOptimizer;
  private final MultiStepLR scheduler;
  private TrainCheckpoint.Progress progress;
  private TrainCheckpoint.BestMetrics best;
  private final List<TrainerListener> listeners = new ArrayList<>();
  private long skippedSteps;

  /**
   * @param resume a checkpoint to continue from, or null for a fresh run
   * @param evaluator per-epoch test, or null
   */
  public Trainer(
      TrainOptions options,
      CaptionedDataset dataset,
      CaptionEncoder captions,
      RateDistortionLoss loss,
      EpochEvaluator evaluator,
      TrainCheckpoint resume) {
    this(options, dataset, captions, loss, evaluator, resume, null);
  }

  /**
   * @param resume a checkpoint to continue from, or null
   * @param init weights to start a new run from, or null (random init); not together with {@code resume}
   * @throws WeightsException if {@code init} does not fit the architecture of {@code options}
   */
  public Trainer(
      TrainOptions options,
      CaptionedDataset dataset,
      CaptionEncoder captions,
      RateDistortionLoss loss,
      EpochEvaluator evaluator,
      TrainCheckpoint resume,
      Init init) {
    if (resume != null && init != null) {
      throw new IllegalArgumentException("resuming a run and starting from other weights exclude each other");
    }
    this.options = options;
    this.dataset = dataset;
    this.captions = captions;
    this.loss = loss;
    this.evaluator = evaluator;
    this.manager = NDManager.newBaseManager();
    this.model = createModel(options, manager, resume, init);
    this.params = model.parameters();
    this.freezeBase = init != null ? init.freezeBase()
        : resume != null && Boolean.parseBoolean(resume.info().get(FREEZE_BASE_INFO));
    Set<String> adapter = adapterParameters(params.keySet());
    this.trainable = new LinkedHashMap<>();
    params.forEach((k, v) -> {
      if (!freezeBase || adapter.contains(k)) {
        trainable.put(k, v);
      }
    });
    if (trainable.isEmpty()) {
      throw new IllegalArgumentException("--freeze-base: this model has no text adapter parameters to train");
    }
    for (NDArray p : trainable.values()) {
      p.setRequiresGradient(true);
    }
    // configure_optimizers: main group = every parameter not ending in ".quantiles", aux = the quantiles; both sorted.
    // A frozen base leaves the main group with the adapter only; the aux optimizer is kept (its state is checkpointed)
    // but never stepped.
    TreeMap<String, NDArray> main = new TreeMap<>();
    TreeMap<String, NDArray> aux = new TreeMap<>();
    params.forEach((k, v) -> {
      if (k.endsWith(".quantiles")) {
        aux.put(k, v);
      } else if (trainable.containsKey(k)) {
        main.put(k, v);
      }
    });
    this.optimizer = new TorchAdam(main, options.learningRate());
    this.auxOptimizer = new TorchAdam(aux, options.auxLearningRate());
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
    Path out = options.out();
    listeners.add(new TrainingLogs.RunLog(out.resolve(RUN_LOG)));
    listeners.add(new TrainingLogs.CsvLogs(out));
    listeners.add(new TrainingLogs.Checkpoints(out, this::checkpoint));
  }

  private static TacoModel createModel(TrainOptions options, NDManager manager, TrainCheckpoint resume, Init init) {
    if (resume != null) {
      return TacoModel.load(resume.model(), options.config(), manager);
    }
    if (init == null) {
      return TacoModel.create(options.config(), manager, options.seed());
    }
    try {
      return TacoModel.load(init.weights(), options.config(), manager);
    } catch (WeightsException e) {
      throw new WeightsException("initial weights " + init.source() + " do not fit the " + options.preset()
          + " preset being trained: " + e.getMessage(), e);
    }
  }

  /**
   * The text adapter's parameters: every gA module that has a {@code text_*} parameter (the official Injector and
   * Extractor modules, {@code g_a.analysis_transform.8/14/15} in the full preset), all of that module's parameters.
   */
  static Set<String> adapterParameters(Collection<String> names) {
    Set<String> modules = new TreeSet<>();
    for (String k : names) {
      int i = k.indexOf(".text_");
      if (k.startsWith(G_A) && i > 0) {
        modules.add(k.substring(0, i + 1));
      }
    }
    Set<String> out = new TreeSet<>();
    for (String k : names) {
      for (String m : modules) {
        if (k.startsWith(m)) {
          out.add(k);
        }
      }
    }
    return out;
  }

  private static final String G_A = "g_a.";

  public TacoModel model() {
    return model;
  }

  public NDManager manager() {
    return manager;
  }

  /**
   * Adds a listener after the standard ones (run log, CSV logs, checkpoints, progress), which see each event first.
   */
  public Trainer addListener(TrainerListener listener) {
    listeners.add(listener);
    return this;
  }

  /** Trains until {@code epochs} or {@code maxSteps}; the listeners write the logs, CSVs and checkpoints. */
  public Summary run() {
    Path out = options.out();
    try {
      Files.createDirectories(out);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create output folder " + out, e);
    }
    Summary summary;
    try {
      summary = runListened(out);
    } catch (RuntimeException | Error e) {
      finish(e);
      throw e;
    }
    finish(null);
    return summary;
  }

  /** Every listener's onFinish; a listener's failure is thrown, or added to the run's own failure. */
  private void finish(Throwable runFailure) {
    RuntimeException failure = null;
    for (TrainerListener l : listeners) {
      try {
        l.onFinish();
      } catch (RuntimeException e) {
        if (runFailure != null) {
          runFailure.addSuppressed(e);
        } else if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  private Summary runListened(Path out) {
    List<StepMetrics> history = new ArrayList<>();
    int epochsCompleted = 0;
    Loader.Options lo =
        new Loader.Options(
            new RandomCrop(options.patchHeight(), options.patchWidth()),
            options.batchSize(),
            options.seed(),
            options.loaderThreads(),
            options.prefetchBatches());
    try (Loader loader = new Loader(dataset, lo)) {
      long perEpoch = loader.batchesPerEpoch();
      long total = (long) options.epochs() * perEpoch;
      if (options.maxSteps() > 0) {
        total = Math.min(total, options.maxSteps());
      }
      TrainerListener.RunStart start = new TrainerListener.RunStart(options, dataset.description(),
          dataset.captioned(), captions.source(), captions.usesCaptions(), loss.lpipsCoefficient(),
          loss.jointCoefficient(), progress.epoch(), progress.position(), progress.step(), total);
      for (TrainerListener l : listeners) {
        l.onStart(start);
      }
      if (perEpoch == 0) {
        throw new DatasetException(
            "the dataset has " + dataset.size() + " images, fewer than one batch of " + options.batchSize());
      }
      while (progress.epoch() < options.epochs()) {
        int epoch = progress.epoch();
        Iterator<ImageTextBatch> it = loader.epoch(epoch, progress.position());
        double sumLoss = 0;
        int n = 0;
        int nonFiniteInARow = 0;
        while (it.hasNext()) {
          if (options.maxSteps() > 0 && progress.step() >= options.maxSteps()) {
            break;
          }
          ImageTextBatch b = it.next();
          StepMetrics m = step(b, epoch);
          history.add(m);
          progress = new TrainCheckpoint.Progress(epoch, b.endPosition(), progress.step() + 1, options.seed());
          sumLoss += m.loss();
          n++;
          for (TrainerListener l : listeners) {
            l.onStep(m, b.size());
          }
          nonFiniteInARow = Double.isFinite(m.loss()) && Double.isFinite(m.gradNorm()) ? 0 : nonFiniteInARow + 1;
          if (nonFiniteInARow >= MAX_NON_FINITE_IN_A_ROW) {
            throw new IllegalStateException("loss or gradients were not finite for " + nonFiniteInARow
                + " steps in a row (last loss " + m.loss() + " at step " + m.step()
                + "); lower the learning rate or check the data (latest checkpoint: " + out.resolve(RECENT) + ")");
          }
        }
        if (options.maxSteps() > 0 && progress.step() >= options.maxSteps() && it.hasNext()) {
          for (TrainerListener l : listeners) {
            l.onStoppedMidEpoch(epoch, progress.step());
          }
          break;
        }
        // End of the epoch (the loader may have dropped an incomplete last batch).
        double epochLearningRate = optimizer.learningRate();
        scheduler.step();
        progress = new TrainCheckpoint.Progress(epoch + 1, 0, progress.step(), options.seed());
        epochsCompleted++;
        EpochEvaluator.Result r = null;
        if (evaluator != null) {
          r = evaluator.evaluate(model, epoch, out.resolve("figures").resolve(Integer.toString(epoch + 1)));
        }
        List<String> improved = updateBest(r);
        TrainerListener.EpochEnd end = new TrainerListener.EpochEnd(epoch, n, n == 0 ? Double.NaN : sumLoss / n,
            progress.step(), r, improved, epochLearningRate);
        for (TrainerListener l : listeners) {
          l.onEpochEnd(end);
        }
        if (options.maxSteps() > 0 && progress.step() >= options.maxSteps()) {
          break;
        }
      }
      return new Summary(progress.step(), epochsCompleted, history, loader.skippedImages());
    }
  }

  /** One optimizer step on one batch (public for tests and the throughput benchmark). */
  public StepMetrics step(ImageTextBatch b, int epoch) {
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
      for (NDArray p : trainable.values()) {
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
        for (String name : trainable.keySet()) {
          if (!Float.isFinite(grads.get(i++).abs().sum().getFloat())) {
            bad.add(name);
          }
        }
        LOG.warn("step {}: gradient norm is {} (non-finite gradients in {} of {} parameters, e.g. {}), update skipped"
                + " ({} skipped so far)", stepIndex + 1, gradNorm, bad.size(), trainable.size(),
            bad.size() > 5 && !LOG.isDebugEnabled() ? bad.subList(0, 5) : bad, skippedSteps);
        return new StepMetrics(stepIndex + 1, epoch, terms.loss().getFloat(), terms.bpp().getFloat(),
            terms.mse().getFloat(), terms.lpips() == null ? Double.NaN : terms.lpips().getFloat(),
            terms.joint() == null ? Double.NaN : terms.joint().getFloat(), Double.NaN, gradNorm,
            optimizer.learningRate());
      }
      double lr = optimizer.learningRate();
      optimizer.step();
      NDArray aux = null;
      if (!freezeBase) {
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
          aux = model.auxLoss();
          gc.backward(aux);
        }
        auxOptimizer.step();
      }
      return new StepMetrics(
          stepIndex + 1,
          epoch,
          terms.loss().getFloat(),
          terms.bpp().getFloat(),
          terms.mse().getFloat(),
          terms.lpips() == null ? Double.NaN : terms.lpips().getFloat(),
          terms.joint() == null ? Double.NaN : terms.joint().getFloat(),
          aux == null ? Double.NaN : aux.getFloat(),
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
    if (freezeBase) {
      info.put(FREEZE_BASE_INFO, "true");
    }
    return new TrainCheckpoint(
        model.stateDict(),
        TrainCheckpoint.OptimizerState.of(optimizer),
        TrainCheckpoint.OptimizerState.of(auxOptimizer),
        scheduler.lastEpoch(),
        progress,
        best,
        info);
  }

  /** train.py keeps the best test value per metric (PSNR, MS-SSIM, bpp, LPIPS); returns those this test improved. */
  private List<String> updateBest(EpochEvaluator.Result r) {
    if (r == null) {
      return List.of();
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
    return List.copyOf(improved);
  }

  @Override
  public void close() {
    optimizer.close();
    auxOptimizer.close();
    manager.close();
  }
}
