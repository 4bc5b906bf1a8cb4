package ai.taco.spark;

import ai.taco.eval.bench.BenchmarkException;
import ai.taco.eval.cli.EvalCommand;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.spark.SparkContext;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Unmatched;

/**
 * {@code taco-spark eval}: {@code taco eval} with its (image, operating point) pairs computed on Spark. Every other
 * step (options, run.json, MS-COCO preparation, recording, FID/CMMD, summary, plots) is {@code taco eval}'s own
 * code, so the outputs are the same files with the same values.
 */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"The paper's evaluation on Spark. Takes every option of 'taco eval' (see 'taco eval --help') plus the"
        + " Spark options below; writes the same run.json, per_image.csv, features/, summary.json, summary.md and"
        + " rd_<metric>.png into --out.",
        "Images, weights and --out must be readable by every executor (a shared file system on a cluster)."})
public final class SparkEvalJob implements Callable<Integer> {

  /** Options of taco eval that only make sense in one JVM writing into --out as it goes. */
  static final Set<String> UNSUPPORTED = Set.of("--resume", "--save-reconstructions", "--keep-bitstreams");

  @Mixin SparkOptions sparkOptions;

  @Unmatched List<String> evalArgs = new ArrayList<>();

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    for (String a : evalArgs) {
      if (UNSUPPORTED.contains(a)) {
        throw new BenchmarkException(a + " is not supported by taco-spark eval (a failed task is retried by Spark"
            + " instead; reconstructions and bitstreams stay on the executors)");
      }
    }
    String[] args = evalArgs.toArray(String[]::new);
    EvalCommand eval = new EvalCommand();
    CommandLine cl = new CommandLine(eval);
    cl.setOut(spec.commandLine().getOut());
    cl.setErr(spec.commandLine().getErr());
    cl.parseArgs(args);
    SparkContext sc = sparkOptions.context("taco-spark eval");
    String jobKey = UUID.randomUUID().toString();
    eval.setPairEvaluator(new SparkPairEvaluator(sc, sparkOptions, jobKey, args, eval.captionModeOption(),
        eval.metricsOnOption()));
    try {
      return eval.call();
    } finally {
      EvalResources.release(jobKey);
    }
  }
}
