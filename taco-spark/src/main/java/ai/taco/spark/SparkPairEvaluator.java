package ai.taco.spark;

import ai.taco.core.CaptionEncoder;
import ai.taco.eval.EvalPlan;
import ai.taco.eval.bench.BenchmarkException;
import ai.taco.eval.bench.EvalDataset;
import ai.taco.eval.bench.EvalResults;
import ai.taco.eval.bench.EvalRunner;
import ai.taco.eval.bench.ImageCodec;
import ai.taco.eval.bench.ImageMetric;
import ai.taco.eval.bench.SetMetric;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.SparkContext;

/**
 * Evaluates one operating point's pending images as a Spark job: one task per partition of images, each image through
 * {@link EvalRunner#evaluatePair} (the very code {@code taco eval} runs), the result rows and the FID/CMMD features
 * collected on the driver, where {@link EvalRunner} records them and reduces the features to the set metrics.
 */
final class SparkPairEvaluator implements EvalRunner.PairEvaluator {

  private final SparkContext sc;
  private final SparkOptions options;
  private final Settings settings;
  private final boolean local;
  private final EvalPlan plan;

  /** @param plan the evaluation: executors build the same codecs and metrics from it */
  SparkPairEvaluator(SparkContext sc, SparkOptions options, String jobKey, EvalPlan plan) {
    this.sc = sc;
    this.plan = plan;
    this.options = options;
    this.local = sc.isLocal() && !options.executorLoadsWeights;
    this.settings = new Settings(jobKey, plan, options.threadsPerTask(sc), options.failFirstAttemptOf);
  }

  /** What every task needs. */
  record Settings(String jobKey, EvalPlan plan, int threadsPerTask, int failFirstAttemptOf)
      implements Serializable {}

  /** One image of one point, as sent to a task (paths as strings: every executor must be able to read them). */
  record Task(int point, String image, String path, String caption, boolean originals) implements Serializable {}

  /** One task's result, as sent back. */
  record Outcome(int point, String codec, String setting, String image, int width, int height, long bytes, double bpp,
      LinkedHashMap<String, Double> metrics, String textSource, LinkedHashMap<String, float[]> originalFeatures,
      LinkedHashMap<String, float[]> reconstructionFeatures) implements Serializable {}

  @Override
  public Map<String, EvalRunner.PairOutcome> evaluate(int pointIndex, ImageCodec codec,
      List<EvalDataset.Item> pending, Set<String> originalsNeeded, CaptionEncoder captions, String textSource,
      List<? extends ImageMetric> metrics, List<? extends SetMetric> setMetrics) {
    if (local) {
      // The tasks run in this JVM: they use the driver's instances instead of loading the weights again.
      EvalResources.register(settings.jobKey(), plan, pointIndex, codec, captions, metrics, setMetrics);
    }
    List<Task> tasks = new ArrayList<>();
    for (EvalDataset.Item item : pending) {
      tasks.add(new Task(pointIndex, item.name(), item.path().toAbsolutePath().toString(), item.caption(),
          originalsNeeded.contains(item.name())));
    }
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(sc);
    jsc.setJobDescription("taco eval: " + codec.name() + " " + codec.setting() + ", " + tasks.size() + " images");
    List<Outcome> rows = jsc.parallelize(tasks, options.partitions(sc, tasks.size()))
        .mapPartitions(new EvalPartition(settings, textSource))
        .collect();
    Map<String, EvalRunner.PairOutcome> out = new LinkedHashMap<>();
    for (Outcome o : rows) {
      EvalResults.ImageResult r = new EvalResults.ImageResult(o.codec(), o.setting(), o.image(), o.width(),
          o.height(), o.bytes(), o.bpp(), o.metrics(), o.textSource());
      if (out.put(o.image(), new EvalRunner.PairOutcome(r, o.originalFeatures(), o.reconstructionFeatures())) != null) {
        throw new BenchmarkException("two results for " + o.image() + " at " + o.codec() + " " + o.setting());
      }
    }
    return out;
  }

  /** One partition of images through one point. */
  static final class EvalPartition implements FlatMapFunction<Iterator<Task>, Outcome> {
    private static final long serialVersionUID = 1L;

    private final Settings s;
    private final String textSource;

    EvalPartition(Settings s, String textSource) {
      this.s = s;
      this.textSource = textSource;
    }

    @Override
    public Iterator<Outcome> call(Iterator<Task> tasks) {
      TaskSetup.beginTask(s.threadsPerTask(), s.failFirstAttemptOf());
      EvalResources.Resources res = EvalResources.get(s.jobKey(), s.plan());
      Set<String> allSet = new HashSet<>();
      res.setMetrics().forEach(m -> allSet.add(m.name()));
      List<Outcome> out = new ArrayList<>();
      while (tasks.hasNext()) {
        Task t = tasks.next();
        ImageCodec codec = res.codecs().get(t.point());
        EvalRunner.PairOutcome o = res.runner().evaluatePair(codec,
            new EvalDataset.Item(t.image(), Path.of(t.path()), t.caption()), res.captions(), textSource,
            res.metrics(), res.setMetrics(), t.originals() ? allSet : Set.of());
        EvalResults.ImageResult r = o.result();
        out.add(new Outcome(t.point(), r.codec(), r.setting(), r.image(), r.width(), r.height(), r.bytes(), r.bpp(),
            new LinkedHashMap<>(r.metrics()), r.textSource(), new LinkedHashMap<>(o.originalFeatures()),
            new LinkedHashMap<>(o.reconstructionFeatures())));
      }
      return out.iterator();
    }
  }
}
