package ai.taco.spark;

import ai.taco.core.CaptionEncoder;
import ai.taco.eval.bench.BenchmarkException;
import ai.taco.eval.bench.EvalRunner;
import ai.taco.eval.bench.ImageCodec;
import ai.taco.eval.bench.ImageMetric;
import ai.taco.eval.bench.SetMetric;
import ai.taco.eval.bench.StandardMetrics;
import ai.taco.eval.EvalPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What an evaluation's tasks share in one JVM: the operating points, caption encoder and metrics of {@code taco eval}
 * built from the same plan, with their weights loaded once (on first use) and shared by the task threads.
 * In local mode the driver's own instances are registered instead, so nothing is loaded twice.
 */
final class EvalResources {

  /** One evaluation's resources. */
  record Resources(Map<Integer, ImageCodec> codecs, CaptionEncoder captions, List<? extends ImageMetric> metrics,
      List<? extends SetMetric> setMetrics, EvalRunner runner) {}

  /** job key -> resources, for the life of the JVM (or until {@link #release}). */
  private static final Map<String, Resources> JOBS = new ConcurrentHashMap<>();

  /** How many times this JVM built a job's resources from its command line (tests: once per job and JVM). */
  private static final java.util.concurrent.atomic.AtomicInteger BUILDS = new java.util.concurrent.atomic.AtomicInteger();

  private EvalResources() {}

  static int builds() {
    return BUILDS.get();
  }

  /** Registers the driver's instances for a local-mode job (its tasks run in this JVM), one point at a time. */
  static void register(String jobKey, EvalPlan plan, int pointIndex, ImageCodec codec, CaptionEncoder captions,
      List<? extends ImageMetric> metrics, List<? extends SetMetric> setMetrics) {
    Resources r = JOBS.computeIfAbsent(jobKey, k -> new Resources(new ConcurrentHashMap<>(), captions, metrics,
        setMetrics, runner(plan)));
    r.codecs().put(pointIndex, codec);
  }

  /** The job's resources, built from its plan by the first task on this JVM. */
  static Resources get(String jobKey, EvalPlan plan) {
    return JOBS.computeIfAbsent(jobKey, k -> build(plan));
  }

  /** Forgets a job (driver, after the run): instances registered by the driver are closed by their owner. */
  static void release(String jobKey) {
    JOBS.remove(jobKey);
  }

  private static Resources build(EvalPlan plan) {
    BUILDS.incrementAndGet();
    StandardMetrics m = plan.openMetrics();
    // Kept open for the executor's life: they are the per-JVM weights every later task of the job reuses.
    Map<Integer, ImageCodec> codecs = new ConcurrentHashMap<>();
    List<ImageCodec> list = plan.openCodecs();
    for (int i = 0; i < list.size(); i++) {
      codecs.put(i, list.get(i));
    }
    return new Resources(codecs, plan.openCaptionEncoder(), m.imageMetrics(), m.setMetrics(),
        runner(plan));
  }

  /**
   * A runner that writes what taco eval's would under --out when reconstructions or bitstreams are kept (every
   * executor then needs --out writable, as on a shared file system); otherwise its only files are the bitstreams it
   * writes, measures and deletes again, in a private temporary folder of this JVM (an executor need not see --out).
   */
  private static EvalRunner runner(EvalPlan plan) {
    EvalRunner.CaptionMode mode = plan.captionMode();
    EvalRunner.MetricsOn on = plan.metricsOn();
    EvalPlan.Outputs o = plan.outputs();
    if (o.saveReconstructions() || o.keepBitstreams()) {
      return new EvalRunner(new EvalRunner.Options(Path.of(o.out()), mode, on, o.saveReconstructions(),
          o.keepBitstreams(), false, false));
    }
    try {
      Path tmp = Files.createTempDirectory("taco-spark-eval-");
      tmp.toFile().deleteOnExit();
      return new EvalRunner(new EvalRunner.Options(tmp, mode, on, false, false, false, false));
    } catch (IOException e) {
      throw new BenchmarkException("cannot create a temporary folder: " + e.getMessage(), e);
    }
  }
}
