package ai.taco.eval.bench;

/**
 * One operating point of an image codec: TACO with one checkpoint, JPEG at one quality, an external tool at one
 * setting. The runner treats all of them alike: the size of {@link #encode}'s bytes is the rate, {@link #decode}'s
 * image is the reconstruction.
 */
public interface ImageCodec extends AutoCloseable {

  /** The codec family, one curve per family and setting sweep in the plots (e.g. "TACO", "JPEG", "bpg"). */
  String name();

  /** The operating point within the family (e.g. a checkpoint file name, "q=50"). */
  String setting();

  /** Whether the encoder reads the caption; baselines do not. */
  default boolean usesText() {
    return false;
  }

  /**
   * Compresses one image to the complete bitstream whose length is counted as the rate (container header included).
   *
   * @param text the caption's CLIP text embeddings, or {@code null} for codecs that ignore text
   */
  byte[] encode(RgbImage image, TextEmbedding text);

  /** Decodes what {@link #encode} produced, at the original size. */
  RgbImage decode(byte[] bitstream);

  /**
   * Everything besides {@link #name()} and {@link #setting()} that determines this point's bitstreams and
   * reconstructions (e.g. a checkpoint's SHA-256, a command template), recorded in the run manifest so that
   * {@code --resume} refuses a changed configuration. Empty when name and setting say it all.
   */
  default java.util.Map<String, String> configuration() {
    return java.util.Map.of();
  }

  /** File extension for saved bitstreams. */
  default String extension() {
    return "bin";
  }

  @Override
  default void close() {}
}
