package ai.taco.core.nn;

import ai.djl.ndarray.NDArray;
import ai.taco.core.tensor.Precision;

/**
 * TACO's text→image adapter (official modules/transform/analysis.py {@code Injector}): the caption features are
 * projected to the image width and layer-normalised, the image features [B,C,H,W] are flattened to tokens and
 * layer-normalised, the image tokens attend to the text tokens (8 heads), and the result is
 * {@code norm(image) + gamma·attn} (the residual is on the NORMALISED image, as in the official code), reshaped back.
 *
 * <p>Parameters: {@code gamma} [C] (zero at init, so a fresh Injector is a LayerNorm), {@code text_feature_dim_proj.*}
 * (kaiming_normal_ weight), {@code image_norm.*}, {@code text_norm.*}, {@code cross_attn.*}; in that order.
 */
public final class Injector {
  private final NamedParameters params;
  private final String gamma;
  private final Dense textProj;
  private final LastAxisLayerNorm imageNorm;
  private final LastAxisLayerNorm textNorm;
  private final CrossAttention attention;

  public Injector(NamedParameters params, String prefix, int dim, int textDim, int heads) {
    this.params = params;
    this.gamma = prefix + ".gamma";
    params.declare(gamma, new long[] {dim}, new Init.Constant(0));
    textProj = new Dense(params, prefix + ".text_feature_dim_proj", textDim, dim, Init.Normal.kaimingNormal(textDim), null);
    imageNorm = new LastAxisLayerNorm(params, prefix + ".image_norm", dim);
    textNorm = new LastAxisLayerNorm(params, prefix + ".text_norm", dim);
    attention = new CrossAttention(params, prefix + ".cross_attn", dim, heads);
  }

  /** image [B,C,H,W], text [B,T,textDim] -> [B,C,H,W]. */
  public NDArray forward(NDArray image, NDArray text) {
    return forward(image, caption(text));
  }

  /**
   * The caption's side of this Injector: the text projected and normalised, and under reduced precision folded into
   * the attention's weights ({@link CrossAttention#fold}). It depends on the text alone, so a map taken in bands of
   * positions computes it once for all of them.
   */
  public Caption caption(NDArray text) {
    NDArray t = textNorm.forward(textProj.forward(text));
    if (ReducedPrecision.active() == Precision.FP32) {
      return new Caption(t, null, null);
    }
    CrossAttention.Folded folded = attention.fold(t, params.get(gamma));
    // One caption in bfloat16 inference: its weights in bfloat16 too, for the route with no float32 pass.
    boolean reduced = t.getShape().get(0) == 1 && OneDnn.usable(t);
    return new Caption(null, folded, reduced ? attention.reduce(folded, 0) : null);
  }

  /** image [B,C,H,W] and its caption's side ({@link #caption}) -> [B,C,H,W]. */
  public NDArray forward(NDArray image, Caption caption) {
    long b = image.getShape().get(0);
    long h = image.getShape().get(2);
    long w = image.getShape().get(3);
    NDArray img = imageNorm.forward(ChannelsLast.tokens(image));
    NDArray out;
    if (caption.reduced != null && ReducedPrecision.isReduced(img)) {
      // bfloat16 inference on a map of the reduced stream (LayerNorm keeps its type): the result stays in it.
      NDArray low = attention.reducedForward(img.reshape(b * h * w, -1), caption.reduced);
      if (low != null) {
        return ChannelsLast.image(low, b, h, w);
      }
    }
    if (caption.folded == null) {
      out = img.add(attention.forward(img, caption.text).mul(params.get(gamma)));
    } else {
      // Reduced precision: the attention as two dense products in that precision (CrossAttention#foldedForward).
      out = img.add(attention.foldedForward(img, caption.folded));
    }
    return ChannelsLast.image(out, b, h, w);
  }

  /** What {@link #caption} computes from a text; its arrays belong to the caller's scope. */
  public static final class Caption {
    private final NDArray text;
    private final CrossAttention.Folded folded;
    private final CrossAttention.ReducedFold reduced;

    private Caption(NDArray text, CrossAttention.Folded folded, CrossAttention.ReducedFold reduced) {
      this.text = text;
      this.folded = folded;
      this.reduced = reduced;
    }
  }
}
