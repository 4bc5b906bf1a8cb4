package ai.taco.cli;

import ai.taco.core.CaptionEncoder;
import ai.djl.ndarray.NDArray;
import ai.taco.core.TacoConfig;
import ai.taco.core.clip.ClipPreprocess;
import ai.taco.core.ClipTextEncoder;
import ai.taco.core.clip.ClipTextModel;
import ai.taco.core.clip.ClipVisionModel;
import ai.taco.metrics.Lpips;
import ai.taco.train.ReconstructionMetrics;
import ai.taco.train.CodecEvaluator;
import ai.taco.train.EpochEvaluator;
import ai.taco.train.JointImageTextLoss;
import ai.taco.train.RateDistortionLoss;
import ai.taco.train.data.CaptionedFolder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The optional pretrained parts of a run (CLIP, LPIPS) and the per-epoch evaluator, built from the flags. */
record Components(
    CaptionEncoder captionEncoder,
    RateDistortionLoss.PerceptualTerm perceptual,
    RateDistortionLoss.JointTerm joint,
    EpochEvaluator evaluator,
    List<AutoCloseable> resources)
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
    List<AutoCloseable> resources = new ArrayList<>();
    try {
      Lpips.InputConvention convention = parseConvention(lpipsConvention);
      CaptionEncoder captions;
      RateDistortionLoss.JointTerm joint = null;
      if (clip != null) {
        ClipTextEncoder text = ClipTextEncoder.load(clip);
        resources.add(text);
        if (text.width() != config.textDim()) {
          throw new IllegalArgumentException("CLIP text width " + text.width() + " != the model's text dimension "
              + config.textDim());
        }
        captions = text;
        if (kj > 0) {
          ClipTextModel textModel = ClipTextModel.load(clip);
          resources.add(textModel);
          ClipVisionModel vision = ClipVisionModel.load(clip);
          resources.add(vision);
          JointImageTextLoss loss = new JointImageTextLoss(textModel, vision, ClipPreprocess.taco());
          joint = (xHat, x, caps) -> loss.compute(x, xHat, text.tokenizer().encode(caps)).value();
        }
      } else {
        captions = CaptionEncoder.zeros(config.textDim());
      }
      Lpips lpips = null;
      if (lpipsWeights != null) {
        lpips = lpipsWeights.length == 1 ? Lpips.load(lpipsWeights[0]) : Lpips.load(lpipsWeights[0], lpipsWeights[1]);
        resources.add(lpips);
      }
      Lpips frozen = lpips;
      RateDistortionLoss.PerceptualTerm perceptual =
          frozen == null || kp == 0 ? null : (xHat, x) -> frozen.forward(xHat, x, convention);
      EpochEvaluator evaluator = null;
      if (evalDir != null) {
        evaluator = new CodecEvaluator(CaptionedFolder.load(evalDir, evalCaptions), captions,
            ReconstructionMetrics.standard(lpips, convention));
      }
      return new Components(captions, perceptual, joint, evaluator, resources);
    } catch (RuntimeException e) {
      closeAll(resources);
      throw e;
    }
  }

  static Lpips.InputConvention parseConvention(String s) {
    try {
      return Lpips.InputConvention.parse(s);
    } catch (ai.taco.metrics.MetricException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  private static void closeAll(List<AutoCloseable> resources) {
    for (AutoCloseable r : resources) {
      try {
        r.close();
      } catch (Exception ignored) {
        // best effort on the error path
      }
    }
  }

  @Override
  public void close() {
    captionEncoder.close();
    closeAll(resources);
  }
}
