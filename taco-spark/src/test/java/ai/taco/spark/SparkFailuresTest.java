package ai.taco.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.apache.logging.log4j.LogManager;
import org.apache.spark.SparkException;
import org.junit.jupiter.api.Test;

/**
 * The one-line error of an application the cluster ended: the reason Spark logged, not only the driver thread's
 * NullPointerException. The exception chain and the log line are the ones Spark 4.1 produces when a standalone master
 * removes the application during registration (StandaloneSchedulerBackend.dead logs the reason and stops the context
 * from another thread; the driver then dereferences the stopped context's SparkEnv).
 */
class SparkFailuresTest {

  /** What the driver thread of scripts/taco-spark printed, verbatim, with an unreachable master (spark://127.0.0.1:1). */
  static final String NPE = "Cannot invoke \"org.apache.spark.SparkEnv.rpcEnv()\" because the return value of"
      + " \"org.apache.spark.SparkEnv$.get()\" is null";

  @Test
  void aStoppedContextSymptomIsPrecededByTheLoggedReason() {
    SparkFailures.clear();
    SparkFailures.recordSchedulerReasons();
    // Logged as Spark's scheduler backend logs it, through the real logging backend.
    LogManager.getLogger("org.apache.spark.scheduler.cluster.StandaloneSchedulerBackend")
        .error(SparkFailures.KILLED_PREFIX + "Master removed our application: FAILED");
    LogManager.getLogger("org.apache.spark.scheduler.cluster.StandaloneSchedulerBackend")
        .warn("an unrelated warning");
    assertEquals(List.of("Master removed our application: FAILED"), SparkFailures.recorded());

    Exception e = SparkFailures.explained(new NullPointerException(NPE));
    assertTrue(e.getMessage().startsWith("Spark ended the application: Master removed our application: FAILED"),
        e.getMessage());
    assertTrue(e.getMessage().contains("SparkEnv.rpcEnv()"), "the symptom is kept: " + e.getMessage());
    assertTrue(e.getCause() instanceof NullPointerException);

    IllegalStateException stopped = new IllegalStateException("Cannot call methods on a stopped SparkContext.");
    assertTrue(SparkFailures.explained(stopped).getMessage().startsWith("Spark ended the application: Master removed"));
    SparkFailures.clear();
  }

  @Test
  void theCauseChainIsWalkedAndNothingIsInventedWithoutAReason() {
    Exception chain = new RuntimeException("job failed",
        new SparkException("Job aborted due to stage failure: Master removed our application: FAILED"));
    assertEquals("job failed (cause: Job aborted due to stage failure: Master removed our application: FAILED)",
        SparkFailures.message(chain, List.of()));
    // The reason already in the message: said once.
    assertEquals("Job aborted due to stage failure: Master removed our application: FAILED",
        SparkFailures.message(chain.getCause(), List.of("Master removed our application: FAILED")));
    // No recorded reason: the exception as it is.
    IllegalArgumentException plain = new IllegalArgumentException("unknown --format 'x' (taco, compressai)");
    assertSame(plain, SparkFailures.explained(plain));
    assertEquals(NPE, SparkFailures.message(new NullPointerException(NPE), List.of()));
  }
}
