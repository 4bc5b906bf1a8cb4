package ai.taco.train;

import ai.taco.core.TacoModel;
import java.nio.file.Path;

/** The per-epoch test of train.py: real bitstreams on a small captioned image set (Kodak in the paper). */
public interface EpochEvaluator {

  /** Mean metrics over the test images; {@code lpips} is NaN when no LPIPS weights are available. */
  record Result(double bpp, double psnr, double msSsim, double lpips, int images) {}

  /**
   * Evaluates {@code trained} (the training model; implementations copy it into an eval model and call update()).
   *
   * @param outDir where to put the bitstreams and reconstructions of this epoch
   */
  Result evaluate(TacoModel trained, int epoch, Path outDir);
}
