package ai.taco.eval.cli;

import java.io.PrintWriter;
import java.util.ServiceLoader;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code taco} command-line tool; subcommands are found with {@link ServiceLoader}. */
@Command(
    name = "taco",
    mixinStandardHelpOptions = true,
    version = "TACO-J 0.1.0-SNAPSHOT",
    description = "TACO: text-guided neural image compression on the JVM.")
public final class TacoCli implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Builds the command line with every subcommand on the class path. */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new TacoCli());
    for (TacoCommand c : ServiceLoader.load(TacoCommand.class)) {
      cl.addSubcommand(c);
    }
    // One clear line on error, no stack trace (set TACO_DEBUG=1 for one).
    cl.setExecutionExceptionHandler(
        (ex, line, parseResult) -> {
          PrintWriter err = line.getErr();
          err.println("taco: " + (ex.getMessage() == null ? ex.toString() : ex.getMessage()));
          if (System.getenv("TACO_DEBUG") != null) {
            ex.printStackTrace(err);
          }
          err.flush();
          return 2;
        });
    return cl;
  }

  public static void main(String[] args) {
    int code;
    try {
      code = commandLine().execute(args);
    } catch (OutOfMemoryError e) {
      // picocli rethrows Errors; a user needs the remedy, not a stack trace.
      System.err.println("taco: out of memory (" + e.getMessage() + "); give the JVM more heap, e.g."
          + " TACO_JAVA_OPTS=-Xmx16g scripts/taco ...");
      code = 2;
    }
    System.exit(code);
  }
}
