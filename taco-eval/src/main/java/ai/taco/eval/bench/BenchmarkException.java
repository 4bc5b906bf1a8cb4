package ai.taco.eval.bench;

import ai.taco.core.error.TacoException;

/** A benchmark cannot run or produced unusable data: missing inputs, bad files, a failing external codec. */
public class BenchmarkException extends TacoException {
  private static final long serialVersionUID = 1L;

  public BenchmarkException(String message) {
    super(message);
  }

  public BenchmarkException(String message, Throwable cause) {
    super(message, cause);
  }
}
