package ai.taco.entropy;

/**
 * Thrown when entropy coding cannot go on: an invalid probability mass function or CDF table, a CDF index out of
 * range, a symbol too far outside its table to be bypass-coded, or a corrupt or truncated bitstream. The message
 * names the problem (and the position, where there is one).
 *
 * <p>Unchecked, like the rest of TACO-J's exceptions: a bad file is reported, never turned into a hang or a crash.
 */
public class EntropyCodingException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** An exception with the given message. */
  public EntropyCodingException(String message) {
    super(message);
  }
}
