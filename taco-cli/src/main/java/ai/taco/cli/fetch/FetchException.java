package ai.taco.cli.fetch;

import ai.taco.core.error.TacoException;

/** A download or catalog problem; the message names the file or entry and what went wrong, in one line. */
public final class FetchException extends TacoException {
  private static final long serialVersionUID = 1L;

  public FetchException(String message) {
    super(message);
  }
}
