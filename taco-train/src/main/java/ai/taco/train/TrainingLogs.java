package ai.taco.train;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The listeners every {@link Trainer} starts with: run log, CSV logs, checkpoints. */
final class TrainingLogs {

  private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

  private TrainingLogs() {}

  /** The start-of-run summary, per-epoch lines and the stop note, to SLF4J and appended to {@code out/train.log}. */
  static final class RunLog implements TrainerListener {
    private final Path file;
    private PrintWriter writer;

    RunLog(Path file) {
      this.file = file;
    }

    @Override
    public void onStart(RunStart s) {
      try {
        writer = new PrintWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
            StandardOpenOption.APPEND), true);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot open " + file, e);
      }
      TrainOptions o = s.options();
      note(false, "TACO training: preset " + o.preset() + ", " + o.config());
      note(false, "dataset: " + s.dataset());
      if (!s.datasetCaptioned()) {
        note(true, "the dataset has NO captions: every caption is the empty string");
      }
      note(!s.captionsUsed(), "captions: " + s.captions());
      if (s.lpipsCoefficient() == 0) {
        note(true, "k_P = 0: no LPIPS term in the loss");
      }
      if (s.jointCoefficient() == 0) {
        note(true, "k_J = 0: no joint image-text term in the loss");
      }
      note(false, String.format(Locale.ROOT,
          "lambda %g, k_P (LPIPS) %g, k_J (joint image-text) %g, batch %d, patch %dx%d, lr %g (x0.1 at epochs %s),"
              + " aux lr %g, clip %g, seed %d, epochs %d%s",
          o.lambda(), s.lpipsCoefficient(), s.jointCoefficient(), o.batchSize(), o.patchHeight(), o.patchWidth(),
          o.learningRate(), Arrays.toString(o.lrEpochs()), o.auxLearningRate(), o.clipMaxNorm(), o.seed(),
          o.epochs(), o.maxSteps() > 0 ? ", max steps " + o.maxSteps() : ""));
      if (s.resumedAtStep() > 0) {
        note(false, "resuming at epoch " + (s.resumedAtEpoch() + 1) + " (position " + s.resumedAtPosition()
            + " of its permutation), step " + s.resumedAtStep());
      }
    }

    @Override
    public void onEpochEnd(EpochEnd e) {
      EpochEvaluator.Result r = e.test();
      if (r != null) {
        note(false, String.format(Locale.ROOT,
            "epoch %d test: bpp %.4f, PSNR %.4f dB, MS-SSIM %.4f, LPIPS %.4f (%d images)",
            e.epoch() + 1, r.bpp(), r.psnr(), r.msSsim(), r.lpips(), r.images()));
      }
      note(false, String.format(Locale.ROOT, "epoch %d done: %d steps, mean loss %.5f, step %d", e.epoch() + 1,
          e.steps(), e.meanLoss(), e.step()));
    }

    @Override
    public void onStoppedMidEpoch(int epoch, long step) {
      note(false, "stopped after " + step + " steps (--max-steps), mid-epoch " + (epoch + 1) + "; checkpoint "
          + file.resolveSibling(Trainer.RECENT));
    }

    @Override
    public void onFinish() {
      if (writer != null) {
        writer.close();
        writer = null;
      }
    }

    private void note(boolean warning, String message) {
      if (warning) {
        LOG.warn(message);
      } else {
        LOG.info(message);
      }
      writer.println(Instant.now() + (warning ? " WARN " : " INFO ") + message);
    }
  }

  /** {@code steps.csv} (one row per step) and {@code epochs.csv} (one row per epoch), appended across resumes. */
  static final class CsvLogs implements TrainerListener {
    private final Path dir;
    private CsvLog steps;
    private CsvLog epochs;

    CsvLogs(Path dir) {
      this.dir = dir;
    }

    @Override
    public void onStart(RunStart s) {
      steps = new CsvLog(dir.resolve(Trainer.STEPS_CSV), CsvLog.STEP_HEADER);
      epochs = new CsvLog(dir.resolve(Trainer.EPOCHS_CSV), CsvLog.EPOCH_HEADER);
    }

    @Override
    public void onStep(Trainer.StepMetrics m, int images) {
      steps.row(m.step(), m.epoch(), m.loss(), m.bpp(), m.mse(), m.lpips(), m.joint(), m.auxLoss(), m.gradNorm(),
          m.learningRate());
    }

    @Override
    public void onEpochEnd(EpochEnd e) {
      EpochEvaluator.Result r = e.test();
      epochs.row(e.epoch() + 1, e.meanLoss(), e.steps(), r == null ? Double.NaN : r.bpp(),
          r == null ? Double.NaN : r.psnr(), r == null ? Double.NaN : r.msSsim(),
          r == null ? Double.NaN : r.lpips(), e.learningRate());
    }

    @Override
    public void onFinish() {
      if (steps != null) {
        steps.close();
        steps = null;
      }
      if (epochs != null) {
        epochs.close();
        epochs = null;
      }
    }
  }

  /**
   * train.py's checkpoint policy: the latest state after every epoch (and when {@code --max-steps} stops a run
   * mid-epoch), and one checkpoint per test metric whenever the epoch improved its best value.
   */
  static final class Checkpoints implements TrainerListener {
    private final Path dir;
    private final Supplier<TrainCheckpoint> state;

    Checkpoints(Path dir, Supplier<TrainCheckpoint> state) {
      this.dir = dir;
      this.state = state;
    }

    @Override
    public void onEpochEnd(EpochEnd e) {
      for (String metric : e.improvedBest()) {
        state.get().write(dir.resolve("checkpoint_best_" + metric + ".safetensors"));
      }
      state.get().write(dir.resolve(Trainer.RECENT));
    }

    @Override
    public void onStoppedMidEpoch(int epoch, long step) {
      state.get().write(dir.resolve(Trainer.RECENT));
    }
  }
}
