package ai.taco.train.data;

import ai.taco.core.error.TacoException;

/** A training dataset that cannot be used: missing folder or annotation file, malformed JSON, no readable image. */
public final class DatasetException extends TacoException {
  private static final long serialVersionUID = 1L;

  public DatasetException(String message) {
    super(message);
  }

  public DatasetException(String message, Throwable cause) {
    super(message, cause);
  }
}
