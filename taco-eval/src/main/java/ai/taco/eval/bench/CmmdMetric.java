package ai.taco.eval.bench;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.clip.ClipVisionModel;
import ai.taco.metrics.Cmmd;
import ai.taco.metrics.CmmdEmbedder;
import ai.taco.metrics.MetricException;
import java.nio.file.Path;
import java.util.List;

/**
 * CMMD over CLIP image embeddings of the saved 8-bit images, embedded by {@link CmmdEmbedder} with a named
 * {@link CmmdEmbedder.Recipe} (the same code, and so the same numbers, as {@code taco cmmd}); then {@link Cmmd#cmmd}.
 */
public final class CmmdMetric implements SetMetric {

  private final MetricWeights<CmmdEmbedder> embedder;
  private final CmmdEmbedder.Recipe recipe;

  private CmmdMetric(MetricWeights<CmmdEmbedder> embedder, CmmdEmbedder.Recipe recipe) {
    this.embedder = embedder;
    this.recipe = recipe;
  }

  private static CmmdEmbedder checked(ClipVisionModel model, CmmdEmbedder.Recipe recipe) {
    try {
      return new CmmdEmbedder(model, recipe);
    } catch (MetricException e) {
      model.close();
      throw new BenchmarkException(e.getMessage());
    }
  }

  /** The metric with the default recipe over a CLIP vision model (HuggingFace folder), as {@code taco eval --cmmd-clip}. */
  public static CmmdMetric open(Path clipDir) {
    return open(clipDir, CmmdEmbedder.Recipe.DEFAULT, false);
  }

  /** With {@code defer}, the CLIP model loads on the first image. */
  static CmmdMetric open(Path clipDir, CmmdEmbedder.Recipe recipe, boolean defer) {
    return new CmmdMetric(MetricWeights.of(() -> checked(ClipVisionModel.load(clipDir), recipe), defer), recipe);
  }

  /** The embedding recipe. */
  public CmmdEmbedder.Recipe recipe() {
    return recipe;
  }

  @Override
  public String name() {
    return "cmmd";
  }

  /** The L2-normalised image embedding of the image as 8-bit pixels (what a saved reconstruction holds). */
  @Override
  public float[] features(RgbImage image) {
    RgbImage img = image.quantized8();
    CmmdEmbedder e = embedder.get();
    try (NDManager m = NDManager.newBaseManager()) {
      return e.embed(m.create(img.planes(), new Shape(1, 3, img.height(), img.width())));
    }
  }

  @Override
  public double distance(List<float[]> originals, List<float[]> reconstructions) {
    return Cmmd.cmmd(originals.toArray(float[][]::new), reconstructions.toArray(float[][]::new));
  }

  @Override
  public void close() {
    embedder.close();
  }
}
