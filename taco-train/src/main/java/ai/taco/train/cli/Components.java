package ai.taco.train.cli;

import ai.taco.core.TacoConfig;
import ai.taco.train.CaptionEncoder;
import ai.taco.train.EpochEvaluator;
import ai.taco.train.RateDistortionLoss;
import java.nio.file.Path;

/** The optional pretrained parts of a run (CLIP, LPIPS) and the per-epoch evaluator, built from the flags. */
record Components(
    CaptionEncoder captionEncoder,
    RateDistortionLoss.PerceptualTerm perceptual,
    RateDistortionLoss.JointTerm joint,
    EpochEvaluator evaluator,
    AutoCloseable resources)
    implements AutoCloseable {

  static Components create(
      TacoConfig config,
      Path clip,
      Path[] lpipsWeights,
      String lpipsConvention,
      double kp,
      double kj,
      Path evalDir,
      Path evalCaptions) {
    if (clip != null) {
      throw new UnsupportedOperationException("--clip is not wired into training yet in this build");
    }
    if (lpipsWeights != null) {
      throw new UnsupportedOperationException("--lpips-weights is not wired into training yet in this build");
    }
    if (evalDir != null) {
      throw new UnsupportedOperationException("--eval-dir is not wired into training yet in this build");
    }
    return new Components(CaptionEncoder.zeros(config.textDim()), null, null, null, () -> {});
  }

  @Override
  public void close() throws Exception {
    captionEncoder.close();
    resources.close();
  }
}
