package ai.taco.core.error;


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

}
