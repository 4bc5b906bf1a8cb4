package ai.taco.cli;

import ai.taco.train.Trainer;
import ai.taco.train.TrainerListener;
import java.util.Locale;

/** The progress bar (or periodic log lines) over all steps of the run, with the latest loss terms. */
final class TrainingProgress implements TrainerListener {
  private ConsoleProgress progress;
  private long epochStartNanos;
  private int epochImages;

  @Override
  public void onStart(RunStart s) {
    progress = ConsoleProgress.start("train", s.totalSteps(), s.resumedAtStep(), "steps");
    epochStartNanos = System.nanoTime();
  }

  @Override
  public void onEpochEnd(EpochEnd e) {
    // Images per second of training only: the next epoch's clock starts after the test and the checkpoints.
    epochImages = 0;
    epochStartNanos = System.nanoTime();
  }

  @Override
  public void onStep(Trainer.StepMetrics m, int images) {
    epochImages += images;
    double seconds = (System.nanoTime() - epochStartNanos) / 1e9;
    progress.setExtraMessage(String.format(Locale.ROOT, " | loss %.4f bpp %.3f mse %.5f%s%s aux %.1f | %.2f img/s",
        m.loss(), m.bpp(), m.mse(),
        Double.isNaN(m.lpips()) ? "" : String.format(Locale.ROOT, " lpips %.4f", m.lpips()),
        Double.isNaN(m.joint()) ? "" : String.format(Locale.ROOT, " joint %.4f", m.joint()),
        m.auxLoss(), epochImages / seconds));
    progress.step();
  }

  @Override
  public void onFinish() {
    if (progress != null) {
      progress.close();
      progress = null;
    }
  }
}
