package ai.taco.train.data;

/** A training dataset that cannot be used: missing folder or annotation file, malformed JSON, no readable image. */
public final class DatasetException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public DatasetException(String message) {
    super(message);
  }

  public DatasetException(String message, Throwable cause) {
    super(message, cause);
  }
}
