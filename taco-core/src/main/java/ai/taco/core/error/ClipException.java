package ai.taco.core.error;


/** A CLIP problem the user can fix: missing or mismatched files, a bad config, an unusable input. */
public class ClipException extends TacoException {
  private static final long serialVersionUID = 1L;

  public ClipException(String message) {
    super(message);
  }

  public ClipException(String message, Throwable cause) {
    super(message, cause);
  }
}
