package ai.taco.spark;

import ai.taco.eval.EvalPlan;
import ai.taco.eval.Evaluation;
import ai.taco.eval.options.EvalOptions;
import java.io.PrintWriter;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.spark.SparkContext;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code taco-spark eval}: {@code taco eval} with its (image, operating point) pairs computed on Spark. The options
 * are {@code taco eval}'s own mixin, they build the same {@link EvalPlan}, and every other step (run.json, MS-COCO
 * preparation, recording, FID/CMMD, summary, plots) is the same {@link Evaluation}, so the outputs are the same files
 * with the same values. Executors receive the plan itself.
 */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"The paper's evaluation on Spark: the options of 'taco eval' plus the Spark options; writes the same"
        + " run.json, per_image.csv, features/, summary.json, summary.md and rd_<metric>.png into --out.",
        "Images, weights and --out must be readable by every executor (a shared file system on a cluster)."})
public final class SparkEvalJob implements Callable<Integer> {

  @Mixin SparkOptions sparkOptions;

  @Mixin EvalOptions evalOptions;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    EvalPlan plan = evalOptions.plan();
    SparkContext sc = sparkOptions.context("taco-spark eval");
    String jobKey = UUID.randomUUID().toString();
    try {
      String summary = new Evaluation(plan)
          .withPairEvaluator(new SparkPairEvaluator(sc, sparkOptions, jobKey, plan))
          // Executors that load their own metrics: the driver only reduces features and needs no network.
          .deferMetricWeights(!(sc.isLocal() && !sparkOptions.executorLoadsWeights))
          .run();
      PrintWriter stdout = spec.commandLine().getOut();
      stdout.println(summary);
      stdout.flush();
      return 0;
    } finally {
      EvalResources.release(jobKey);
    }
  }
}
