package ai.taco.spark;

import java.util.Locale;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Option;

/** Options every taco-spark command takes besides the {@code taco} command's own. */
public final class SparkOptions {

  /** Spark's property for the master; spark-submit sets it, so --master is only needed outside spark-submit. */
  private static final String MASTER = "spark.master";

  /** The context the last command started or joined. */
  private static final java.util.concurrent.atomic.AtomicReference<SparkContext> STARTED =
      new java.util.concurrent.atomic.AtomicReference<>();

  /** Shuffle partitions in local mode: a few per core of a laptop (Spark's default of 200 suits a cluster). */
  private static final String LOCAL_SHUFFLE_PARTITIONS = "8";

  @Option(names = "--master", paramLabel = "URL",
      description = "Spark master, e.g. local[2] (default: what spark-submit set, else local[*]).")
  String master;

  @Option(names = "--partitions", paramLabel = "N", defaultValue = "0",
      description = "Partitions of the work (default 0: 4 per task slot, so slow images even out).")
  int partitions;

  @Option(names = "--threads-per-task", paramLabel = "N", defaultValue = "0",
      description = "libtorch threads each task uses (default 0: the executor's cores over its task slots).")
  int threadsPerTask;

  /**
   * Test hook for Spark's retry: the first attempt of this partition fails on purpose (-1: none). Retries need a
   * master that allows them (local[N,F] with F > 1, or any cluster).
   */
  @Option(names = "--fail-first-attempt-of-partition", paramLabel = "P", defaultValue = "-1", hidden = true)
  int failFirstAttemptOf;

  @Option(names = "--executor-loads-weights",
      description = "Local mode only: tasks load their own codecs and metrics from the plan, as executors on a"
          + " cluster do, instead of sharing the driver's (same JVM).")
  boolean executorLoadsWeights;

  public SparkOptions() {}

  /** The session: --master if given, else spark-submit's, else all local cores. */
  SparkSession session(String appName) {
    // A master that ends the application only logs why; record it for the one-line error (SparkFailures).
    SparkFailures.recordSchedulerReasons();
    SparkSession s = SparkSession.builder().config(conf(appName)).getOrCreate();
    STARTED.set(s.sparkContext());
    return s;
  }

  /**
   * Only the SparkContext, for jobs that need no SQL (the evaluation): Spark SQL's start-up is skipped.
   */
  SparkContext context(String appName) {
    SparkContext sc = SparkContext.getOrCreate(conf(appName));
    STARTED.set(sc);
    return sc;
  }

  /** Stops the context a command started in this JVM, if any (the command-line tool, before it exits). */
  static void stopStarted() {
    SparkContext sc = STARTED.getAndSet(null);
    if (sc != null) {
      sc.stop();
    }
  }

  private SparkConf conf(String appName) {
    SparkConf conf = new SparkConf().setAppName(appName);
    if (master != null) {
      conf.setMaster(master);
    } else if (!conf.contains(MASTER)) {
      conf.setMaster("local[*]");
    }
    if (conf.get(MASTER).startsWith("local")) {
      // A laptop run: no web UI to serve, and shuffles (caption joins) in a few tasks instead of Spark's 200.
      conf.set("spark.ui.enabled", "false");
      conf.set("spark.sql.shuffle.partitions", LOCAL_SHUFFLE_PARTITIONS);
    }
    return conf;
  }

  /**
   * Libtorch threads per task: --threads-per-task, else cores over task slots (local[N]: this machine's cores over
   * N; a cluster: spark.task.cpus, the cores Spark reserves for each task).
   */
  int threadsPerTask(SparkContext sc) {
    if (threadsPerTask > 0) {
      return threadsPerTask;
    }
    if (sc.master().toLowerCase(Locale.ROOT).startsWith("local")) {
      int slots = sc.defaultParallelism();
      return Math.max(1, Runtime.getRuntime().availableProcessors() / Math.max(1, slots));
    }
    return Math.max(1, sc.getConf().getInt("spark.task.cpus", 1));
  }

  /** Number of partitions for {@code items} pieces of work. */
  int partitions(SparkContext sc, long items) {
    long p = partitions > 0 ? partitions : 4L * sc.defaultParallelism();
    return (int) Math.max(1, Math.min(p, Math.max(1, items)));
  }
}
