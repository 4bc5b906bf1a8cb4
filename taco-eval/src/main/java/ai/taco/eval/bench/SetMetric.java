package ai.taco.eval.bench;

import java.util.List;
import java.util.Map;

/**
 * A distribution metric computed over a whole set (FID, CMMD): per-image features of the originals and of the
 * reconstructions, then one distance between the two feature sets.
 */
public interface SetMetric extends AutoCloseable {

  /** Column name in the results (e.g. "fid"). */
  String name();

  /** The feature vector of one image (e.g. InceptionV3 pool3, CLIP image embedding). */
  float[] features(RgbImage image);

  /** The distance between the originals' and the reconstructions' features (lower is better). */
  double distance(List<float[]> originals, List<float[]> reconstructions);

  /** The summary columns this metric fills: its {@link #name()} alone unless it reports more (FID adds KID). */
  default List<String> columns() {
    return List.of(name());
  }

  /** The value of each of {@link #columns()} for the two feature sets. */
  default Map<String, Double> distances(List<float[]> originals, List<float[]> reconstructions) {
    return Map.of(name(), distance(originals, reconstructions));
  }

  @Override
  default void close() {}
}
