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

  /** File extension for saved bitstreams. */
  default String extension() {
    return "bin";
  }

  @Override
  default void close() {}
}
