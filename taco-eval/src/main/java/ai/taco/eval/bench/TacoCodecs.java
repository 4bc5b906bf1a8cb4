package ai.taco.eval.bench;

import java.nio.file.Path;
import java.util.List;

/** Opens TACO checkpoints as {@link ImageCodec}s and picks the caption encoder. */
public final class TacoCodecs {

  private TacoCodecs() {}

  /** One codec per checkpoint, loaded lazily (one at a time) by the runner. */
  public static List<ImageCodec> open(List<Path> weights, String preset) {
    throw new BenchmarkException("the TACO codec is not yet available in this build");
  }

  /**
   * @param noTextCodec true when no codec reads text (then zeros are returned and never used)
   * @param clipDir CLIP folder for the text encoder, or null
   * @param embeddingsFile precomputed embeddings, or null
   */
  public static CaptionEncoder captionEncoder(boolean noTextCodec, Path clipDir, Path embeddingsFile) {
    if (noTextCodec) {
      return CaptionEncoder.zeros();
    }
    if (clipDir != null) {
      throw new BenchmarkException("the CLIP text encoder is not yet available in this build");
    }
    if (embeddingsFile != null) {
      return new PrecomputedCaptionEncoder(embeddingsFile);
    }
    return CaptionEncoder.zeros();
  }
}
