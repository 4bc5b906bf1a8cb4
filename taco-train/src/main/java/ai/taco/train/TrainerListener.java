package ai.taco.train;

import java.util.List;

/**
 * Observes a {@link Trainer#run()}: the run log, the CSV logs and the checkpoint policy are listeners, and an
 * application adds its own ({@link Trainer#addListener}; the command line: a progress bar); the loop itself only
 * trains. Called on the training thread, in the order the listeners were added; an exception from a listener ends the
 * run.
 *
 * <p>Not DJL's {@code ai.djl.training.listener.TrainingListener}: that one observes DJL's {@code Trainer} (its
 * {@code onTrainingBatch(Trainer, BatchData)} hands over DJL's trainer and batch), which this loop does not use.
 */
public interface TrainerListener {

  /** What the run is about to do ({@code resumedAtStep} is 0 for a fresh run). */
  record RunStart(
      TrainOptions options,
      String dataset,
      boolean datasetCaptioned,
      String captions,
      boolean captionsUsed,
      double lpipsCoefficient,
      double jointCoefficient,
      int resumedAtEpoch,
      long resumedAtPosition,
      long resumedAtStep,
      long totalSteps) {}

  /**
   * The end of an epoch, after the learning-rate schedule stepped and the test ran.
   *
   * @param epoch 0-based
   * @param test null without an evaluator
   * @param improvedBest the best-so-far test metrics this epoch improved ({@code psnr}, {@code ms_ssim}, {@code bpp},
   *     {@code lpips}), already recorded in the trainer's state
   * @param learningRate the rate the epoch trained with
   */
  record EpochEnd(
      int epoch, int steps, double meanLoss, long step, EpochEvaluator.Result test, List<String> improvedBest,
      double learningRate) {}

  default void onStart(RunStart start) {}

  /** After each optimizer step; {@code images} is the batch size. */
  default void onStep(Trainer.StepMetrics metrics, int images) {}

  default void onEpochEnd(EpochEnd end) {}

  /** {@code --max-steps} reached in the middle of epoch {@code epoch} (0-based), after step {@code step}. */
  default void onStoppedMidEpoch(int epoch, long step) {}

  /** Always called last, also when the run fails: release what {@link #onStart} opened. */
  default void onFinish() {}
}
