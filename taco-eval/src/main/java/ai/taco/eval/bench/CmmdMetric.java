package ai.taco.eval.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.clip.ClipVisionModel;
import ai.taco.metrics.Cmmd;
import java.nio.file.Path;
import java.util.List;

/**
 * CMMD over CLIP image embeddings, with the embedding recipe of sayakpaul/cmmd-pytorch {@code embedding.py} (the torch
 * port of google-research/cmmd): the whole image resized to the model's square input with torch bicubic
 * ({@code align_corners=False}, no antialias, aspect ratio not kept), normalised with CLIP's mean/std (no crop),
 * {@code CLIPVisionModelWithProjection.image_embeds}, L2-normalised; then {@link Cmmd#cmmd}.
 */
public final class CmmdMetric implements SetMetric {

  /** OpenAI CLIP / HF CLIPImageProcessor image mean and std (RGB). */
  private static final float[] MEAN = {0.48145466f, 0.4578275f, 0.40821073f};

  private static final float[] STD = {0.26862954f, 0.26130258f, 0.27577711f};

  /** torch's bicubic convolution constant (aten UpSample.h {@code cubic_convolution}: A = -0.75). */
  private static final double A = -0.75;

  private final MetricWeights<ClipVisionModel> model;

  private CmmdMetric(MetricWeights<ClipVisionModel> model) {
    this.model = model;
  }

  private static ClipVisionModel checked(ClipVisionModel model) {
    if (!model.hasProjection()) {
      model.close();
      throw new BenchmarkException("the CMMD CLIP model has no visual projection (need CLIPVisionModelWithProjection"
          + " weights, e.g. openai/clip-vit-large-patch14-336)");
    }
    return model;
  }

  /** The metric over a CLIP vision model with projection (HuggingFace folder), as {@code taco eval --cmmd-clip}. */
  public static CmmdMetric open(Path clipDir) {
    return open(clipDir, false);
  }

  /** With {@code defer}, the CLIP model loads on the first image. */
  static CmmdMetric open(Path clipDir, boolean defer) {
    return new CmmdMetric(MetricWeights.of(() -> checked(ClipVisionModel.load(clipDir)), defer));
  }

  @Override
  public String name() {
    return "cmmd";
  }

  /** The L2-normalised image embedding of the image as 8-bit pixels (what a saved reconstruction holds). */
  @Override
  public float[] features(RgbImage image) {
    RgbImage img = image.quantized8();
    ClipVisionModel clip = model.get();
    int size = clip.config().imageSize();
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray x = m.create(img.planes(), new Shape(3, img.height(), img.width()));
      NDArray wh = m.create(bicubicMatrix(img.height(), size), new Shape(size, img.height()));
      NDArray ww = m.create(bicubicMatrix(img.width(), size), new Shape(size, img.width()));
      NDArray resized = wh.matMul(x).matMul(ww.transpose()); // [3, size, size]
      NDArray mean = m.create(MEAN, new Shape(3, 1, 1));
      NDArray std = m.create(STD, new Shape(3, 1, 1));
      NDArray pixels = resized.sub(mean).div(std).expandDims(0);
      float[] e = clip.forward(pixels).imageEmbeds().toFloatArray();
      return Cmmd.l2Normalize(new float[][] {e})[0];
    }
  }

  @Override
  public double distance(List<float[]> originals, List<float[]> reconstructions) {
    return Cmmd.cmmd(originals.toArray(float[][]::new), reconstructions.toArray(float[][]::new));
  }

  @Override
  public void close() {
    model.close();
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
}
