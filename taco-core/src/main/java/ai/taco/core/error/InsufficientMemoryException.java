package ai.taco.core.error;

/**
 * A coding call that would need (or did need) more memory than allowed or available: refused before allocating by
 * the memory budget, or a native allocation that failed. The message is one line with the sizes involved.
 */
public class InsufficientMemoryException extends TacoException {
  private static final long serialVersionUID = 1L;

  public InsufficientMemoryException(String message) {
    super(message);
  }

  public InsufficientMemoryException(String message, Throwable cause) {
    super(message, cause);
  }
}
