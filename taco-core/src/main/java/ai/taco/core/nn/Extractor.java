package ai.taco.core.nn;

import ai.djl.ndarray.NDArray;

/**
 * TACO's image→text adapter (official {@code Extractor}): image tokens are projected to the text width and
 * layer-normalised, the text tokens are layer-normalised and attend to them (8 heads), and the updated text features
 * are {@code norm(text) + attn} (no gamma). They feed the next Injector.
 *
 * <p>Parameters: {@code image_feature_dim_proj.*} (kaiming_normal_ weight), {@code image_norm.*}, {@code text_norm.*}
 * (both of the text width), {@code cross_attn.*}.
 */
public final class Extractor {
  private final Dense imageProj;
  private final LastAxisLayerNorm imageNorm;
  private final LastAxisLayerNorm textNorm;
  private final CrossAttention attention;

  public Extractor(NamedParameters params, String prefix, int dim, int textDim, int heads) {
    imageProj = new Dense(params, prefix + ".image_feature_dim_proj", dim, textDim, Init.Normal.kaimingNormal(dim), null);
    imageNorm = new LastAxisLayerNorm(params, prefix + ".image_norm", textDim);
    textNorm = new LastAxisLayerNorm(params, prefix + ".text_norm", textDim);
    attention = new CrossAttention(params, prefix + ".cross_attn", textDim, heads);
  }

  /**
   * As {@link #forward(NDArray, NDArray)} taking the image tokens {@code chunkTokens} at a time, so the projected
   * tokens of a large map never exist at once ({@link CrossAttention#forward(NDArray, int,
   * java.util.function.IntFunction)}); identical operations when the map has at most {@code chunkTokens} positions.
   */
  public NDArray forward(NDArray text, NDArray image, int chunkTokens) {
    NDArray all = ChannelsLast.tokens(image);
    long s = all.getShape().get(1);
    int chunks = Math.toIntExact((s + chunkTokens - 1) / chunkTokens);
    NDArray t = textNorm.forward(text);
    return t.add(attention.forward(t, chunks, c -> {
      NDArray part = chunks == 1 ? all : all.get(":, " + (long) c * chunkTokens + ":" + Math.min(s, (c + 1L) * chunkTokens) + ", :");
      return imageNorm.forward(imageProj.forward(part));
    }));
  }

  /** text [B,T,textDim], image [B,C,H,W] -> updated text [B,T,textDim]. */
  public NDArray forward(NDArray text, NDArray image) {
    NDArray tokens = imageNorm.forward(imageProj.forward(ChannelsLast.tokens(image)));
    NDArray t = textNorm.forward(text);
    return t.add(attention.forward(t, tokens));
  }
}
