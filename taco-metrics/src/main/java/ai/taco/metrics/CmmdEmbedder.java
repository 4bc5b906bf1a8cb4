package ai.taco.metrics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.clip.ClipVisionModel;

/**
 * CLIP image embeddings the way CMMD computes them (google-research cmmd {@code io_util.py} + {@code embedding.py}):
 * centre-crop to a square, resize to the model's image size with PIL-style antialiased bicubic, back to 8-bit (PIL
 * works on 8-bit images), CLIP mean/std normalisation, {@code image_embeds} of the vision model with projection, then
 * L2 normalisation. The original model is {@code openai/clip-vit-large-patch14-336}.
 */
public final class CmmdEmbedder implements AutoCloseable {
  /** OpenAI CLIP normalisation (CLIPImageProcessor image_mean / image_std, as in clip-vit-large-patch14-336). */
  static final float[] MEAN = {0.48145466f, 0.4578275f, 0.40821073f};

  static final float[] STD = {0.26862954f, 0.26130258f, 0.27577711f};

  /** DJL interpolation mode: bicubic; antialiased when shrinking, like PIL (docs/djl-traps.md). */
  private static final int BICUBIC = 3;

  private final ClipVisionModel model;

  /** Wraps a loaded vision model (with projection); {@link #close()} closes it. */
  public CmmdEmbedder(ClipVisionModel model) {
    if (!model.hasProjection()) {
      throw new MetricException("CMMD needs a CLIP vision model with its visual_projection (image_embeds)");
    }
    this.model = model;
  }

  /** Unit-norm embedding of one [1,3,H,W] image in [0,1]. */
  @SuppressWarnings("try") // NDScope frees the temporaries; it is not referenced
  public float[] embed(NDArray image) {
    Shape s = image.getShape();
    if (s.dimension() != 4 || s.get(0) != 1 || s.get(1) != 3) {
      throw new MetricException("CMMD: need one [1,3,H,W] image, got " + s);
    }
    try (NDScope scope = new NDScope()) {
      NDArray pixels = preprocess(image, model.config().imageSize());
      NDArray e = model.forward(pixels).imageEmbeds();
      float[] v = e.toFloatArray();
      double n = 0;
      for (float f : v) {
        n += (double) f * f;
      }
      float inv = (float) (1.0 / Math.sqrt(n));
      for (int i = 0; i < v.length; i++) {
        v[i] *= inv;
      }
      return v;
    }
  }

  /** Centre crop to a square, antialiased bicubic resize to {@code size}, 8-bit rounding, CLIP normalisation. */
  static NDArray preprocess(NDArray image, int size) {
    Shape s = image.getShape();
    long h = s.get(2);
    long w = s.get(3);
    long l = Math.min(h, w);
    long top = (h - l) / 2;
    long left = (w - l) / 2;
    NDArray sq = image.get(":, :, " + top + ":" + (top + l) + ", " + left + ":" + (left + l));
    NDArray r = l == size ? sq : sq.getNDArrayInternal().interpolation(new long[] {size, size}, BICUBIC, false);
    r = r.clip(0f, 1f).mul(255).round().div(255); // PIL resizes 8-bit images
    NDManager m = image.getManager();
    NDArray mean = m.create(MEAN, new Shape(1, 3, 1, 1));
    NDArray std = m.create(STD, new Shape(1, 3, 1, 1));
    return r.sub(mean).div(std);
  }

  @Override
  public void close() {
    model.close();
  }
}
