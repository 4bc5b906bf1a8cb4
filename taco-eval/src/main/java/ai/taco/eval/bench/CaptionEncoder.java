package ai.taco.eval.bench;

/**
 * Turns an image's caption into TACO's text condition. Implementations: the CLIP text encoder, precomputed embeddings
 * read from a file, or an explicit zero fallback; {@link #source()} is written into every result so a run without
 * captions can never be mistaken for one with them.
 */
public interface CaptionEncoder extends AutoCloseable {

  /** CLIP ViT-B/32 text width and TACO's token count (official code: padding="max_length", max_length=38). */
  int TOKENS = 38;

  int WIDTH = 512;

  /** Human-readable description of where the embeddings come from, e.g. "clip:models/clip-vit-base-patch32". */
  String source();

  /** Whether the captions' content reaches the codec at all (false for the zero fallback). */
  boolean usesCaptions();

  /**
   * @param imageName file name of the image (key for precomputed embeddings)
   * @param caption the caption ("" in the empty-caption ablation)
   */
  TextEmbedding encode(String imageName, String caption);

  @Override
  default void close() {}

  /**
   * All-zero text features: the fallback when no CLIP weights and no precomputed embeddings are given. It is NOT a
   * caption and NOT CLIP's embedding of the empty string; results are labelled accordingly.
   */
  static CaptionEncoder zeros() {
    return new CaptionEncoder() {
      @Override
      public String source() {
        return "zeros (no CLIP text encoder and no --text-embeddings: captions NOT used)";
      }

      @Override
      public boolean usesCaptions() {
        return false;
      }

      @Override
      public TextEmbedding encode(String imageName, String caption) {
        return new TextEmbedding(new float[TOKENS * WIDTH], TOKENS, WIDTH, "zeros");
      }
    };
  }
}
