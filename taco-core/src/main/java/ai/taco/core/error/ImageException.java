package ai.taco.core.error;


/** An image that cannot be read or written: missing, empty, not an image, corrupt, unsupported or zero-sized. */
public class ImageException extends TacoException {
  private static final long serialVersionUID = 1L;

  public ImageException(String message) {
    super(message);
  }

  public ImageException(String message, Throwable cause) {
    super(message, cause);
  }
}
