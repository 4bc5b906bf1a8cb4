package ai.taco.cli;

import ai.taco.eval.options.OneLineErrors;
import ai.djl.engine.EngineException;
import ai.taco.core.nn.LibTorch;
import java.util.List;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code taco} command-line tool; every subcommand is listed in {@link #SUBCOMMANDS}. */
@Command(
    name = "taco",
    mixinStandardHelpOptions = true,
    version = "TACO-J 0.1.0-SNAPSHOT",
    description = "TACO: text-guided neural image compression on the JVM.")
public final class TacoCli implements Runnable {

  /** Every subcommand, in the order of {@code taco --help}. */
  static final List<Supplier<TacoCommand>> SUBCOMMANDS = List.of(
      DemoCommand::new,
      CompressCommand::new,
      DecompressCommand::new,
      InfoCommand::new,
      EvalCommand::new,
      MetricsCommand::new,
      FidCommand::new,
      CmmdCommand::new,
      EmbedTextCommand::new,
      TrainCommand::new,
      ExportCommand::new,
      ai.taco.cli.fetch.FetchCommand::new,
      BenchCodecCommand::new,
      BenchEntropyCommand::new,
      BenchMetricsCommand::new,
      BenchClipCommand::new,
      BenchTrainCommand::new);

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Builds the command line with every subcommand. */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new TacoCli());
    for (Supplier<TacoCommand> c : SUBCOMMANDS) {
      cl.addSubcommand(c.get());
    }
    cl.setExecutionExceptionHandler(OneLineErrors.of("taco"));
    return cl;
  }

  public static void main(String[] args) {
    int code;
    try {
      if (needsEngine(args)) {
        try {
          LibTorch.setUpOnce();
        } catch (EngineException e) {
          System.err.println("taco: libtorch did not start (" + rootMessage(e) + "). With a build without the CPU"
              + " native jar (-Pcuda) set PYTORCH_LIBRARY_PATH, PYTORCH_VERSION=2.7.1 and PYTORCH_FLAVOR (README).");
          System.exit(2);
        }
      }
      code = commandLine().execute(args);
    } catch (OutOfMemoryError e) {
      // picocli rethrows Errors; a user needs the remedy, not a stack trace.
      System.err.println("taco: out of memory (" + e.getMessage() + "); give the JVM more heap, e.g."
          + " TACO_JAVA_OPTS=-Xmx16g scripts/taco ...");
      code = 2;
    }
    System.exit(code);
  }

  private static String rootMessage(Throwable e) {
    String m = e.getMessage();
    for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
      m = m + ": " + c.getMessage();
    }
    return m;
  }

  /** False for help and version requests and for {@code fetch}, which should not wait for libtorch to start. */
  static boolean needsEngine(String[] args) {
    if (args.length > 0 && args[0].equals("fetch")) {
      return false;
    }
    for (String a : args) {
      if (a.equals("-h") || a.equals("--help") || a.equals("-V") || a.equals("--version")) {
        return false;
      }
    }
    return args.length > 0;
  }
}
