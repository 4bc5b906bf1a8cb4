package ai.taco.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.Logger;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;

/**
 * Names the root cause when Spark ends the application under the driver. A standalone master that removes the
 * application ("Master removed our application: FAILED", "All masters are unresponsive! Giving up.") makes Spark
 * stop the SparkContext from its scheduler thread; the reason is only logged there ({@code StandaloneSchedulerBackend}:
 * "Application has been killed. Reason: ..."), and the driver thread fails afterwards with a symptom such as a
 * NullPointerException on the stopped context's {@code SparkEnv} or "Cannot call methods on a stopped SparkContext".
 * This class records those logged reasons (a log4j2 appender, Spark's logging backend) and puts them in front of such
 * a symptom.
 */
final class SparkFailures {

  /** The scheduler backends' loggers (standalone; the cluster-manager backends log under the same package). */
  static final List<String> SCHEDULER_LOGGERS = List.of("org.apache.spark.scheduler.cluster",
      "org.apache.spark.deploy.client");

  /** How Spark's scheduler backend introduces the reason it was killed (StandaloneSchedulerBackend.dead). */
  static final String KILLED_PREFIX = "Application has been killed. Reason: ";

  /** Messages of the driver thread that only say the context is gone. */
  private static final List<String> STOPPED_SYMPTOMS = List.of("SparkEnv", "stopped SparkContext",
      "SparkContext was shut down", "SparkContext has been shutdown");

  private static final List<String> REASONS = new CopyOnWriteArrayList<>();

  private static volatile boolean installed;

  private SparkFailures() {}

  /** Starts recording the scheduler's kill reasons (idempotent; nothing happens without log4j2-core). */
  static synchronized void recordSchedulerReasons() {
    if (installed) {
      return;
    }
    installed = true;
    AbstractAppender appender = new AbstractAppender("taco-spark-failures", null, null, true, Property.EMPTY_ARRAY) {
      @Override
      public void append(LogEvent event) {
        if (event.getLevel().isMoreSpecificThan(Level.ERROR)) {
          noteLogged(event.getMessage().getFormattedMessage());
        }
      }
    };
    appender.start();
    attach(appender);
    // Spark reconfigures log4j2 when it finds only the default configuration: attach again to the new one.
    if (LogManager.getContext(false) instanceof LoggerContext ctx) {
      ctx.addPropertyChangeListener(change -> {
        if (LoggerContext.PROPERTY_CONFIG.equals(change.getPropertyName())) {
          attach(appender);
        }
      });
    }
  }

  private static void attach(AbstractAppender appender) {
    for (String name : SCHEDULER_LOGGERS) {
      if (LogManager.getLogger(name) instanceof Logger core && !core.getAppenders().containsKey(appender.getName())) {
        core.addAppender(appender);
      }
    }
  }

  /** Keeps the reason of a logged "Application has been killed" line. */
  static void noteLogged(String message) {
    if (message != null) {
      int i = message.indexOf(KILLED_PREFIX);
      if (i >= 0) {
        REASONS.add(message.substring(i + KILLED_PREFIX.length()).strip());
      }
    }
  }

  /** The reasons recorded so far (tests). */
  static List<String> recorded() {
    return List.copyOf(REASONS);
  }

  static void clear() {
    REASONS.clear();
  }

  /**
   * The one-line message for {@code e}: its own, with the deepest distinct cause appended, and, when it only says that
   * the context is gone, the reason Spark gave for stopping the application first.
   */
  static String message(Throwable e, List<String> schedulerReasons) {
    List<String> parts = new ArrayList<>();
    boolean stoppedSymptom = false;
    for (Throwable t = e; t != null && parts.size() < 8; t = t.getCause() == t ? null : t.getCause()) {
      String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
      if (parts.stream().noneMatch(p -> p.contains(m))) {
        parts.add(m);
      }
      if (t instanceof NullPointerException || STOPPED_SYMPTOMS.stream().anyMatch(m::contains)) {
        stoppedSymptom = true;
      }
    }
    String own = parts.size() == 1 ? parts.get(0) : parts.get(0) + " (cause: " + parts.get(parts.size() - 1) + ")";
    String reasons = String.join("; ", new java.util.LinkedHashSet<>(schedulerReasons));
    if (reasons.isEmpty() || own.contains(reasons)) {
      return own;
    }
    if (stoppedSymptom) {
      return "Spark ended the application: " + reasons + " (then: " + own + ")";
    }
    return own + " (Spark scheduler: " + reasons + ")";
  }

  /** {@code e} with the message of {@link #message} and the reasons recorded in this JVM; {@code e} is the cause. */
  static Exception explained(Exception e) {
    String m = message(e, recorded());
    return m.equals(e.getMessage()) ? e : new SparkApplicationException(m, e);
  }

  /** The driver's failure with its root cause named. */
  static final class SparkApplicationException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    SparkApplicationException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
