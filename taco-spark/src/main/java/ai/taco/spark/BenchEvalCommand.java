package ai.taco.spark;

import ai.taco.eval.bench.BenchmarkException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

/**
 * {@code taco-spark bench-eval}: wall time of {@code scripts/taco eval} against {@code scripts/taco-spark eval
 * --master local[N]} on the same inputs, each in its own JVM as a user runs them, alternating which goes first.
 * Reports the share of Spark's wall time that is overhead: {@code (t_spark - t_taco) / t_spark}.
 */
@Command(name = "bench-eval", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Times 'scripts/taco eval' against 'scripts/taco-spark eval --master MASTER' on the same taco eval"
        + " options (give them after these; --out is the folder under which each run gets its own).",
        "Needs a prior 'mvn -DskipTests package' (both launchers)."})
public final class BenchEvalCommand implements Callable<Integer> {

  @Option(names = "--master", defaultValue = "local[2]", paramLabel = "URL",
      description = "Master of the Spark runs (default ${DEFAULT-VALUE}).")
  String master;

  @Option(names = "--threads-per-task", defaultValue = "0", paramLabel = "N",
      description = "--threads-per-task of the Spark runs (default 0: cores over task slots).")
  int threadsPerTask;

  @Option(names = "--repeats", defaultValue = "1", paramLabel = "N",
      description = "Pairs of runs (default ${DEFAULT-VALUE}); the order alternates.")
  int repeats;

  @Unmatched List<String> evalArgs = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    String home = System.getProperty("taco.home");
    if (home == null) {
      throw new BenchmarkException("bench-eval runs the launchers in scripts/: start it with scripts/taco-spark");
    }
    int outAt = evalArgs.indexOf("--out");
    if (outAt < 0 || outAt + 1 >= evalArgs.size()) {
      throw new BenchmarkException("give --out DIR (each run writes into its own folder under it)");
    }
    Path base = Path.of(evalArgs.get(outAt + 1));
    Files.createDirectories(base);
    List<Double> taco = new ArrayList<>();
    List<Double> spark = new ArrayList<>();
    for (int i = 0; i < repeats; i++) {
      boolean tacoFirst = i % 2 == 0;
      for (int k = 0; k < 2; k++) {
        boolean runTaco = (k == 0) == tacoFirst;
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(home, "scripts", runTaco ? "taco" : "taco-spark").toString());
        cmd.add("eval");
        if (!runTaco) {
          cmd.addAll(List.of("--master", master, "--threads-per-task", Integer.toString(threadsPerTask)));
        }
        List<String> args = new ArrayList<>(evalArgs);
        args.set(outAt + 1, base.resolve((runTaco ? "taco-eval-" : "taco-spark-eval-") + i).toString());
        cmd.addAll(args);
        (runTaco ? taco : spark).add(time(cmd, base.resolve((runTaco ? "taco-eval-" : "taco-spark-eval-") + i
            + ".log")));
      }
    }
    double t = taco.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    double s = spark.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    ObjectMapper om = new ObjectMapper();
    ObjectNode j = om.createObjectNode();
    j.put("master", master);
    j.put("threads_per_task", threadsPerTask);
    ArrayNode ta = j.putArray("taco_eval_seconds");
    taco.forEach(ta::add);
    ArrayNode sa = j.putArray("taco_spark_eval_seconds");
    spark.forEach(sa::add);
    j.put("taco_eval_mean_seconds", t);
    j.put("taco_spark_eval_mean_seconds", s);
    j.put("spark_overhead_share", (s - t) / s);
    System.out.println(j.toPrettyString());
    return 0;
  }

  /** Runs one launcher to completion (its output into {@code log}) and returns its wall time in seconds. */
  private static double time(List<String> cmd, Path log) throws IOException, InterruptedException {
    long t0 = System.nanoTime();
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    int code = p.waitFor();
    double seconds = (System.nanoTime() - t0) / 1e9;
    if (code != 0) {
      throw new BenchmarkException(String.join(" ", cmd) + " failed (exit " + code + "); see " + log);
    }
    return seconds;
  }
}
