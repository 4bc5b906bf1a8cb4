package ai.taco.train;

import ai.taco.core.nn.Scalars;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.clip.ClipConfig;
import ai.taco.core.clip.ClipFiles;
import ai.taco.core.clip.ClipPreprocess;
import ai.taco.core.clip.ClipTextModel;
import ai.taco.core.clip.ClipTokenizer;
import ai.taco.core.clip.ClipVisionModel;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.StateDict;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * TACO's joint image-text loss ({@code RateDistortionLoss.get_joint_image_text_loss}, effl-lab/TACO
 * utils/utils.py):
 *
 * <pre>
 *   e(x̂), e(x) = L2-normalised CLIP image embeddings of transform_for_clip(x̂), transform_for_clip(x)
 *   t          = L2-normalised CLIP text embeddings of the caption tokens
 *   logits     = t e(x̂)^T * exp(logit_scale)
 *   loss       = (CE(logits, arange) + CE(logits^T, arange)) / 2  +  beta * ||e(x̂) - e(x)||_F
 * </pre>
 *
 * The distance term is the Frobenius norm over the whole batch (not squared, not per sample). The CLIP encoders are
 * frozen (their weights never require gradients); the loss is differentiable w.r.t. x̂ only, through the
 * preprocessing and the vision tower. The training loss adds {@code k_J} times this value.
 */
public final class JointImageTextLoss implements AutoCloseable {

  /** TACO's {@code self.beta = 40.0}. */
  public static final double DEFAULT_BETA = 40.0;

  /** TACO's {@code logit_scale = 2.6592} (openai/clip-vit-base-patch32's value); the logits use its exp. */
  public static final double DEFAULT_LOGIT_SCALE = 2.6592;

  private final ClipTextModel text;
  private final ClipVisionModel vision;
  private final ClipPreprocess preprocess;
  private final float beta;
  private final float logitScaleExp;
  private final boolean ownsModels;

  /**
   * The loss value and its parts, on x̂'s manager.
   *
   * @param value {@code clipLoss + beta * imageDistance}, a scalar
   * @param clipLoss the symmetric contrastive term, a scalar
   * @param imageDistance {@code ||e(x̂) - e(x)||_F} before the beta factor, a scalar
   * @param logitsPerText {@code [B, B]} scaled text-to-x̂ similarities
   */
  public record Result(NDArray value, NDArray clipLoss, NDArray imageDistance, NDArray logitsPerText) {}

  /** TACO's settings: beta 40, logit scale exp(2.6592). */
  public JointImageTextLoss(ClipTextModel text, ClipVisionModel vision, ClipPreprocess preprocess) {
    this(text, vision, preprocess, DEFAULT_BETA, DEFAULT_LOGIT_SCALE);
  }

  /**
   * @param text a text tower with {@code text_projection}
   * @param vision a vision tower with {@code visual_projection}
   * @param preprocess TACO's transform ({@link ClipPreprocess#taco()}, or the antialiased variant)
   * @param logitScale the log of the logits' scale (TACO: 2.6592)
   */
  public JointImageTextLoss(
      ClipTextModel text, ClipVisionModel vision, ClipPreprocess preprocess, double beta, double logitScale) {
    this(text, vision, preprocess, beta, logitScale, false);
  }

  private JointImageTextLoss(
      ClipTextModel text,
      ClipVisionModel vision,
      ClipPreprocess preprocess,
      double beta,
      double logitScale,
      boolean owns) {
    if (!text.hasProjection() || !vision.hasProjection()) {
      throw new IllegalArgumentException(
          "the joint loss needs CLIP with projections (text_projection and visual_projection weights)");
    }
    if (vision.config().imageSize() != preprocess.size()) {
      throw new IllegalArgumentException(
          "preprocessing size " + preprocess.size() + " != CLIP image_size " + vision.config().imageSize());
    }
    this.text = text;
    this.vision = vision;
    this.preprocess = preprocess;
    this.beta = (float) beta;
    // torch: nn.Parameter(torch.ones([]) * 2.6592).exp(), i.e. exp of the float32 value.
    this.logitScaleExp = (float) Math.exp((float) logitScale);
    this.ownsModels = owns;
  }

  /**
   * Loads both CLIP towers from a HuggingFace CLIP directory (config.json + model.safetensors or pytorch_model.bin of
   * openai/clip-vit-base-patch32), reading the weights file once, with TACO's settings. The loss owns the models:
   * close it to free them.
   *
   * @param antialias {@code false} for TACO's torchvision-0.14 resize (the golden default), {@code true} for >= 0.17
   */
  public static JointImageTextLoss load(Path clipDir, boolean antialias) {
    ClipFiles.requireFiles(clipDir, false);
    ClipConfig config = ClipConfig.read(clipDir.resolve(ClipFiles.CONFIG));
    Path weights =
        Files.isRegularFile(clipDir.resolve(ClipFiles.SAFETENSORS))
            ? clipDir.resolve(ClipFiles.SAFETENSORS)
            : clipDir.resolve(ClipFiles.TORCH_BIN);
    Map<String, HostTensor> stateDict = StateDict.load(weights);
    ClipTextModel text = ClipTextModel.fromStateDict(config.requireText(), stateDict, weights.toString());
    try {
      ClipVisionModel vision = ClipVisionModel.fromStateDict(config.requireVision(), stateDict, weights.toString());
      try {
        ClipPreprocess pre = new ClipPreprocess(config.requireVision().imageSize(), antialias);
        return new JointImageTextLoss(text, vision, pre, DEFAULT_BETA, DEFAULT_LOGIT_SCALE, true);
      } catch (RuntimeException e) {
        vision.close();
        throw e;
      }
    } catch (RuntimeException e) {
      text.close();
      throw e;
    }
  }

  /** Computes the loss for tokenized captions (ids and mask are created on x̂'s manager). */
  public Result compute(NDArray x, NDArray xHat, ClipTokenizer.Tokens captions) {
    NDManager m = xHat.getManager();
    return compute(x, xHat, captions.inputIds(m), captions.attentionMask(m));
  }

  /**
   * Computes the loss.
   *
   * @param x the target images {@code [B, 3, H, W]} in [0, 1]
   * @param xHat the reconstructions, same shape; gradients flow to it
   * @param inputIds caption tokens {@code [B, L]} (TACO: L = 38)
   * @param attentionMask {@code [B, L]}
   */
  public Result compute(NDArray x, NDArray xHat, NDArray inputIds, NDArray attentionMask) {
    Shape s = xHat.getShape();
    if (!x.getShape().equals(s)) {
      throw new IllegalArgumentException("x " + x.getShape() + " and x_hat " + s + " differ in shape");
    }
    long b = s.get(0);
    if (inputIds.getShape().get(0) != b) {
      throw new IllegalArgumentException(
          "batch of " + b + " images but " + inputIds.getShape().get(0) + " captions");
    }
    NDManager m = xHat.getManager();
    NDArray eHat = normalized(vision.forward(preprocess.apply(xHat)).imageEmbeds());
    NDArray e = normalized(vision.forward(preprocess.apply(x)).imageEmbeds());
    NDArray t = normalized(text.forward(inputIds, attentionMask).textEmbeds());
    NDArray logits = Scalars.mul(t.matMul(eHat.transpose()), logitScaleExp);
    NDArray eye = m.eye((int) b);
    // Cross-entropy with targets arange(B), averaged: rows for captions, columns (logits^T) for images.
    NDArray captionLoss = Scalars.div(logits.logSoftmax(1).mul(eye).sum().neg(), (float) b);
    NDArray imageLoss = Scalars.div(logits.logSoftmax(0).mul(eye).sum().neg(), (float) b);
    NDArray clipLoss = Scalars.div(captionLoss.add(imageLoss), 2);
    NDArray distance = eHat.sub(e).norm();
    NDArray value = clipLoss.add(Scalars.mul(distance, beta));
    return new Result(value, clipLoss, distance, logits);
  }

  /** Frees the CLIP models if this loss loaded them ({@link #load}); models passed in stay the caller's. */
  @Override
  public void close() {
    if (ownsModels) {
      try {
        text.close();
      } finally {
        vision.close();
      }
    }
  }

  private static NDArray normalized(NDArray e) {
    return e.div(e.norm(new int[] {-1}, true));
  }
}
