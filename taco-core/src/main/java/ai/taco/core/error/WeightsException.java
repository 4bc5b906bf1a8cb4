package ai.taco.core.error;


/** Weights that cannot be used: unreadable file, unknown format or dtype, missing, unexpected or mis-shaped keys. */
public class WeightsException extends TacoException {
  private static final long serialVersionUID = 1L;

  public WeightsException(String message) {
    super(message);
  }

  public WeightsException(String message, Throwable cause) {
    super(message, cause);
  }
}
