package ai.taco.cli;

import ai.taco.eval.bench.EvalRunner;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.time.Duration;
import java.util.Locale;
import java.util.function.Consumer;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Progress of a long loop on stderr: a redrawn bar when stderr is a terminal, otherwise a plain log line at most every
 * {@link #LOG_INTERVAL} (and at the end), so that a redirected stderr or a log file holds no carriage returns or ANSI
 * escapes. The system property {@code taco.progress} ({@code bar} or {@code log}) overrides the detection.
 */
public final class ConsoleProgress implements EvalRunner.Progress {

  private static final Logger LOG = LoggerFactory.getLogger(ConsoleProgress.class);

  /** Time between two log lines when stderr is not a terminal. */
  public static final Duration LOG_INTERVAL = Duration.ofSeconds(30);

  /** Widest bar line: the counts, the ETA and a few loss terms stay readable. */
  static final int MAX_BAR_WIDTH = 180;

  private final String task;
  private final long total;
  private final String unit;
  private final ProgressBar bar;
  private final Consumer<String> lines;
  private final long startNanos;
  private final long startCount;
  private final long intervalNanos;
  private long count;
  private long lastLineNanos;
  private boolean lineIsCurrent;
  private String extra = "";

  ConsoleProgress(String task, long total, long initial, String unit, boolean terminal, PrintStream err,
      Consumer<String> lines, Duration interval) {
    this.task = task;
    this.total = total;
    this.unit = unit;
    this.lines = lines;
    this.count = initial;
    this.startCount = initial;
    this.startNanos = System.nanoTime();
    this.lastLineNanos = startNanos;
    this.intervalNanos = interval.toNanos();
    this.lineIsCurrent = true;
    this.bar = terminal
        ? new ProgressBarBuilder()
            .setTaskName(task)
            .setInitialMax(total)
            .startsFrom(initial, Duration.ZERO)
            .setStyle(ProgressBarStyle.ASCII)
            .setUnit(" " + unit, 1)
            .showSpeed(new DecimalFormat("0.00"))
            .setConsumer(new ConsoleProgressBarConsumer(err, MAX_BAR_WIDTH))
            .setUpdateIntervalMillis(500)
            .build()
        : null;
  }

  /** Starts a progress report of {@code total} {@code unit}s of which {@code initial} are already done. */
  public static ConsoleProgress start(String task, long total, long initial, String unit) {
    return new ConsoleProgress(task, total, initial, unit, stderrIsTerminal(), System.err, LOG::info, LOG_INTERVAL);
  }

  /**
   * True when this process's stderr is a terminal: on Linux where {@code /proc/self/fd/2} points (a pts or tty
   * device), elsewhere {@link System#console()} (which looks at stdin and stdout).
   */
  public static boolean stderrIsTerminal() {
    String forced = System.getProperty("taco.progress", "");
    if (forced.equals("bar")) {
      return true;
    }
    if (forced.equals("log")) {
      return false;
    }
    Path fd2 = Path.of("/proc/self/fd/2");
    if (Files.isSymbolicLink(fd2)) {
      try {
        String target = Files.readSymbolicLink(fd2).toString();
        return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
      } catch (IOException | SecurityException e) {
        return false;
      }
    }
    return System.console() != null;
  }

  /** Text shown after the counts (e.g. the current loss). */
  @Override
  public void setExtraMessage(String message) {
    extra = message;
    if (bar != null) {
      bar.setExtraMessage(message);
    }
  }

  @Override
  public void step() {
    stepTo(count + 1);
  }

  public void stepTo(long n) {
    count = n;
    lineIsCurrent = false;
    if (bar != null) {
      bar.stepTo(n);
      return;
    }
    long now = System.nanoTime();
    if (now - lastLineNanos >= intervalNanos) {
      line(now);
    }
  }

  private void line(long now) {
    lastLineNanos = now;
    lineIsCurrent = true;
    double seconds = (now - startNanos) / 1e9;
    double rate = seconds > 0 ? (count - startCount) / seconds : Double.NaN;
    String eta = rate > 0 && total >= count ? format(Duration.ofSeconds((long) ((total - count) / rate))) : "?";
    lines.accept(String.format(Locale.ROOT, "%s: %d/%d %s (%.0f%%), %.2f %s/s, elapsed %s, ETA %s%s", task, count,
        total, unit, total > 0 ? 100.0 * count / total : 100.0, rate, unit, format(Duration.ofNanos(now - startNanos)),
        eta, extra));
  }

  private static String format(Duration d) {
    return String.format(Locale.ROOT, "%d:%02d:%02d", d.toHours(), d.toMinutesPart(), d.toSecondsPart());
  }

  @Override
  public void close() {
    if (bar != null) {
      bar.close();
    } else if (!lineIsCurrent) {
      line(System.nanoTime());
    }
  }
}
