package ai.taco.core;

import java.util.Objects;

/**
 * How {@link TacoCodec#compress(ai.taco.core.tensor.HostTensor, ai.taco.core.tensor.HostTensor, EncodeOptions)} writes its
 * result.
 *
 * @param format the file kind to produce
 * @param listener told the coding stages (profiling; {@link StageListener#NONE} by default)
 */
public record EncodeOptions(Format format, StageListener listener) {
  /** The file kinds of the codec. */
  public enum Format {
    /** TACO-J's checked container ({@link ai.taco.core.bitstream.TacoFile}): weights fingerprint and symbol checksums. */
    TACO,
    /**
     * The official {@code .bin} layout ({@link ai.taco.core.bitstream.CompressAiFile}), byte-compatible with the official
     * code; it has no checksums, so a decoder cannot detect a mismatch.
     */
    COMPRESSAI
  }

  /** A {@link Format#TACO} file, no listener. */
  public static final EncodeOptions DEFAULT = new EncodeOptions(Format.TACO, StageListener.NONE);

  public EncodeOptions {
    Objects.requireNonNull(format, "format");
    Objects.requireNonNull(listener, "listener");
  }

  /** The official {@code .bin} layout, no listener. */
  public static EncodeOptions official() {
    return DEFAULT.withFormat(Format.COMPRESSAI);
  }

  public EncodeOptions withFormat(Format f) {
    return new EncodeOptions(f, listener);
  }

  public EncodeOptions withListener(StageListener l) {
    return new EncodeOptions(format, l);
  }
}
