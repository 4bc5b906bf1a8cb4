package ai.taco.spark;

import ai.taco.eval.options.OneLineErrors;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of {@code scripts/taco-spark} and of {@code spark-submit --class ai.taco.spark.TacoSparkCli}: the
 * {@code taco} commands compress, decompress and eval as Spark jobs.
 */
@Command(name = "taco-spark", mixinStandardHelpOptions = true, version = "TACO-J 0.1.0-SNAPSHOT",
    description = "TACO batch compression and evaluation on Apache Spark.",
    subcommands = {CompressJob.class, DecompressJob.class, SparkEvalJob.class, BenchEvalCommand.class})
public final class TacoSparkCli implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** The command line, with one clear error line naming the root cause instead of a stack trace (TACO_DEBUG=1). */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new TacoSparkCli());
    CommandLine.IExecutionExceptionHandler oneLine = OneLineErrors.of("taco-spark");
    // Spark's driver-side symptom of an application the cluster ended names the cause Spark only logged.
    cl.setExecutionExceptionHandler((ex, line, parsed) ->
        oneLine.handleExecutionException(SparkFailures.explained(ex), line, parsed));
    return cl;
  }

  public static void main(String[] args) {
    int code = commandLine().execute(args);
    SparkOptions.stopStarted();
    System.exit(code);
  }
}
