package ai.taco.spark;

import ai.taco.core.error.TacoException;
import org.apache.spark.TaskContext;

/** What every task does first: libtorch's thread count (once per JVM) and the retry test hook. */
final class TaskSetup {

  /** DJL reads it when the engine starts: the first task of an executor JVM decides. */
  private static final String NUM_THREADS = "ai.djl.pytorch.num_threads";

  private static final String NUM_INTEROP_THREADS = "ai.djl.pytorch.num_interop_threads";

  private TaskSetup() {}

  /**
   * Sets libtorch's threads for this JVM unless already set (a -D on the executor's command line wins), and fails
   * the first attempt of partition {@code failFirstAttemptOf} when asked (to test that Spark's retry leaves no
   * duplicate and no missing row).
   */
  static synchronized void beginTask(int threadsPerTask, int failFirstAttemptOf) {
    if (System.getProperty(NUM_THREADS) == null) {
      System.setProperty(NUM_THREADS, Integer.toString(threadsPerTask));
      // One op at a time per task: the parallelism is across tasks.
      System.setProperty(NUM_INTEROP_THREADS, "1");
    }
    TaskContext tc = TaskContext.get();
    if (tc != null && tc.partitionId() == failFirstAttemptOf && tc.attemptNumber() == 0) {
      throw new InjectedFailure("first attempt of partition " + failFirstAttemptOf + " failed on purpose");
    }
  }

  /** The failure {@code --fail-first-attempt-of-partition} injects. */
  static final class InjectedFailure extends TacoException {
    private static final long serialVersionUID = 1L;

    InjectedFailure(String message) {
      super(message);
    }
  }
}
