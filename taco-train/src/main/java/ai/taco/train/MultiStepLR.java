package ai.taco.train;

import java.util.Arrays;

/**
 * {@code torch.optim.lr_scheduler.MultiStepLR}: the learning rate is multiplied by {@code gamma} each time the epoch
 * counter reaches a milestone. The official train.py calls {@link #step()} once per epoch (milestones 45, 48 and
 * gamma 0.1 in the paper).
 */
public final class MultiStepLR {

  /** MultiStepLR default gamma, the ×0.1 decay of the paper. */
  public static final double DEFAULT_GAMMA = 0.1;

  private final TorchAdam optimizer;
  private final int[] milestones;
  private final double gamma;
  private int lastEpoch;

  public MultiStepLR(TorchAdam optimizer, int[] milestones, double gamma) {
    this.optimizer = optimizer;
    this.milestones = milestones.clone();
    Arrays.sort(this.milestones);
    this.gamma = gamma;
    this.lastEpoch = 0;
  }

  /** Advances one epoch; like torch's chainable form, multiplies the current rate by gamma^(times epoch is listed). */
  public void step() {
    lastEpoch++;
    int hits = 0;
    for (int m : milestones) {
      if (m == lastEpoch) {
        hits++;
      }
    }
    if (hits > 0) {
      optimizer.setLearningRate(optimizer.learningRate() * Math.pow(gamma, hits));
    }
  }

  /** Number of {@link #step()} calls so far (torch's {@code last_epoch}). */
  public int lastEpoch() {
    return lastEpoch;
  }

  /** Restores the counter (the learning rate itself is restored with the optimizer's state). */
  public void setLastEpoch(int lastEpoch) {
    if (lastEpoch < 0) {
      throw new IllegalArgumentException("lastEpoch must be >= 0, got " + lastEpoch);
    }
    this.lastEpoch = lastEpoch;
  }

  public int[] milestones() {
    return milestones.clone();
  }

  public double gamma() {
    return gamma;
  }
}
