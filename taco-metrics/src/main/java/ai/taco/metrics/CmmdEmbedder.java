package ai.taco.metrics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.clip.ClipVisionModel;

/**
 * CLIP image embeddings for CMMD, by one of the named {@link Recipe}s; every command and the library default to
 * {@link Recipe#DEFAULT}. Embeddings are L2-normalised. Only embeddings of the same recipe and model are comparable.
 */
public final class CmmdEmbedder implements AutoCloseable {

  /** How an image becomes the vector CMMD compares (option {@code --cmmd-recipe}, output {@code cmmd_recipe}). */
  public enum Recipe {
    /**
     * sayakpaul/cmmd-pytorch {@code embedding.py} (the torch port of Jayasumana et al.'s google-research/cmmd): the
     * whole image resized to the model's square input with torch bicubic ({@code align_corners=False}, no
     * antialias, aspect ratio not kept, no crop), CLIP mean/std, {@code image_embeds} (with {@code
     * visual_projection}). The default.
     */
    CMMD_PYTORCH("cmmd-pytorch", true),
    /**
     * google-research/cmmd {@code io_util.py} + {@code embedding.py}: centre crop to a square, PIL-style antialiased
     * bicubic resize on 8-bit pixels, CLIP mean/std, {@code image_embeds}.
     */
    GOOGLE_RESEARCH("google-research", true),
    /**
     * The TACO paper's wording, "CLIP (w.o. projection)" (§4.1): the {@link #CMMD_PYTORCH} preprocessing, but the
     * vision tower's {@code pooler_output} (post-layernorm class token) without {@code visual_projection}.
     */
    CLIP_NO_PROJECTION("clip-no-projection", false);

    /** The default of every command and of the library. */
    public static final Recipe DEFAULT = CMMD_PYTORCH;

    private final String id;
    private final boolean projected;

    Recipe(String id, boolean projected) {
      this.id = id;
      this.projected = projected;
    }

    /** The option value and the name written in outputs. */
    public String id() {
      return id;
    }

    /** Parses an option value (case-insensitive). */
    public static Recipe parse(String s) {
      for (Recipe r : values()) {
        if (r.id.equalsIgnoreCase(s == null ? "" : s.trim())) {
          return r;
        }
      }
      throw new MetricException("--cmmd-recipe must be cmmd-pytorch, google-research or clip-no-projection, got '"
          + s + "'");
    }
  }

  /** OpenAI CLIP normalisation (CLIPImageProcessor image_mean / image_std, as in clip-vit-large-patch14-336). */
  static final float[] MEAN = {0.48145466f, 0.4578275f, 0.40821073f};

  static final float[] STD = {0.26862954f, 0.26130258f, 0.27577711f};

  /** DJL interpolation mode: bicubic; antialiased when shrinking, like PIL (docs/djl-traps.md). */
  private static final int BICUBIC = 3;

  /** torch's bicubic convolution constant (aten UpSample.h {@code cubic_convolution}: A = -0.75). */
  private static final double A = -0.75;

  private final ClipVisionModel model;
  private final Recipe recipe;

  /** Wraps a loaded vision model with the {@link Recipe#DEFAULT} recipe; {@link #close()} closes it. */
  public CmmdEmbedder(ClipVisionModel model) {
    this(model, Recipe.DEFAULT);
  }

  /** Wraps a loaded vision model; {@link #close()} closes it. */
  public CmmdEmbedder(ClipVisionModel model, Recipe recipe) {
    if (recipe.projected && !model.hasProjection()) {
      throw new MetricException("CMMD recipe " + recipe.id + " needs a CLIP vision model with its visual_projection"
          + " (image_embeds, e.g. openai/clip-vit-large-patch14-336)");
    }
    this.model = model;
    this.recipe = recipe;
  }

  /** The recipe this embedder follows. */
  public Recipe recipe() {
    return recipe;
  }

  /** Unit-norm embedding of one [1,3,H,W] image in [0,1]. */
  @SuppressWarnings("try") // NDScope frees the temporaries; it is not referenced
  public float[] embed(NDArray image) {
    Shape s = image.getShape();
    if (s.dimension() != 4 || s.get(0) != 1 || s.get(1) != 3) {
      throw new MetricException("CMMD: need one [1,3,H,W] image, got " + s);
    }
    try (NDScope scope = new NDScope()) {
      int size = model.config().imageSize();
      NDArray pixels = recipe == Recipe.GOOGLE_RESEARCH ? preprocess(image, size) : resizeWhole(image, size);
      ClipVisionModel.Output out = model.forward(pixels);
      float[] v = (recipe.projected ? out.imageEmbeds() : out.poolerOutput()).toFloatArray();
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

  /** google-research: centre crop to a square, antialiased bicubic resize to {@code size}, 8-bit rounding, CLIP mean/std. */
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
    return normalise(r);
  }

  /** cmmd-pytorch: the whole image through torch's bicubic resize (no antialias) to size x size, CLIP mean/std. */
  static NDArray resizeWhole(NDArray image, int size) {
    Shape s = image.getShape();
    int h = (int) s.get(2);
    int w = (int) s.get(3);
    NDManager m = image.getManager();
    NDArray x = image.reshape(3, h, w);
    NDArray wh = m.create(bicubicMatrix(h, size), new Shape(size, h));
    NDArray ww = m.create(bicubicMatrix(w, size), new Shape(size, w));
    NDArray resized = wh.matMul(x).matMul(ww.transpose()).expandDims(0); // [1, 3, size, size]
    return normalise(resized);
  }

  private static NDArray normalise(NDArray r) {
    NDManager m = r.getManager();
    NDArray mean = m.create(MEAN, new Shape(1, 3, 1, 1));
    NDArray std = m.create(STD, new Shape(1, 3, 1, 1));
    return r.sub(mean).div(std);
  }

  /**
   * The [out, in] matrix of torch's 1-D bicubic resize ({@code align_corners=False}): source coordinate
   * {@code (i+0.5)·in/out − 0.5}, base index clamped to [0, in−1] and fraction to [0,1] (aten
   * {@code guard_index_and_lambda}), four taps with border-clamped indices.
   */
  static float[] bicubicMatrix(int in, int out) {
    float[] m = new float[out * in];
    double scale = (double) in / out;
    for (int i = 0; i < out; i++) {
      double real = scale * (i + 0.5) - 0.5;
      int ix = Math.min(Math.max((int) Math.floor(real), 0), in - 1);
      double t = Math.min(Math.max(real - ix, 0), 1);
      double[] w = {cubic2(t + 1), cubic1(t), cubic1(1 - t), cubic2(2 - t)};
      for (int k = 0; k < 4; k++) {
        int src = Math.min(Math.max(ix - 1 + k, 0), in - 1);
        m[i * in + src] += (float) w[k];
      }
    }
    return m;
  }

  private static double cubic1(double x) {
    return ((A + 2) * x - (A + 3)) * x * x + 1;
  }

  private static double cubic2(double x) {
    return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  }

  @Override
  public void close() {
    model.close();
  }
}
