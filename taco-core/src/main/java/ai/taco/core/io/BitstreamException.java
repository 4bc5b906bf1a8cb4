package ai.taco.core.io;

import ai.taco.core.TacoException;

/**
 * A compressed file that cannot be decoded: wrong magic or version, truncated, corrupted (checksum), encoded with
 * different weights or scale table, or decoded to different latent symbols than were encoded.
 */
public class BitstreamException extends TacoException {
  private static final long serialVersionUID = 1L;

  public BitstreamException(String message) {
    super(message);
  }

  public BitstreamException(String message, Throwable cause) {
    super(message, cause);
  }

  /** Reads {@code file} and parses it with {@code parser}; every error names the file. */
  static <T> T readFile(java.nio.file.Path file, java.util.function.Function<byte[], T> parser) {
    byte[] bytes;
    try {
      bytes = java.nio.file.Files.readAllBytes(file);
    } catch (java.io.IOException e) {
      throw new BitstreamException(file + ": cannot read (" + InputFiles.reason(e) + ")", e);
    }
    try {
      return parser.apply(bytes);
    } catch (BitstreamException e) {
      throw new BitstreamException(file + ": " + e.getMessage(), e);
    }
  }
}
