package ai.taco.core.error;

/**
 * Base of every error TACO-J reports about its inputs (weights, bitstreams, images, captions). Unchecked, so library
 * users handle it where they can act on it; the message always names the problem and the file or value at fault.
 */
public class TacoException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public TacoException(String message) {
    super(message);
  }

  public TacoException(String message, Throwable cause) {
    super(message, cause);
  }
}
