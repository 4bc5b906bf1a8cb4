package ai.taco.eval.options;

import java.io.PrintWriter;
import picocli.CommandLine;

/** The error handler of the {@code taco} and {@code taco-spark} command lines. */
public final class OneLineErrors {

  private OneLineErrors() {}

  /**
   * One clear line {@code TOOL: message} on error and exit status 2, no stack trace (set TACO_DEBUG=1 for one).
   */
  public static CommandLine.IExecutionExceptionHandler of(String tool) {
    return (ex, line, parseResult) -> {
      PrintWriter err = line.getErr();
      err.println(tool + ": " + (ex.getMessage() == null ? ex.toString() : ex.getMessage()));
      if (System.getenv("TACO_DEBUG") != null) {
        ex.printStackTrace(err);
      }
      err.flush();
      return 2;
    };
  }
}
