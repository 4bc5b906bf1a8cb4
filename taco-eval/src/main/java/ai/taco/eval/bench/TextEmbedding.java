package ai.taco.eval.bench;

/**
 * The text condition of one image: CLIP's last hidden state for its caption, row-major [tokens, width] (TACO: 38 x 512),
 * with a label saying where it came from so results never claim a caption that was not used.
 */
public record TextEmbedding(float[] values, int tokens, int width, String source) {
  public TextEmbedding {
    if (tokens <= 0 || width <= 0 || values.length != tokens * width) {
      throw new BenchmarkException(
          "text embeddings must hold " + tokens + "x" + width + " values, got " + values.length);
    }
  }
}
