package ai.taco.cli.fetch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Bytes received, as a redrawn bar on stderr when stderr is a terminal (as the training loop's progress does), and
 * nothing otherwise: a redirected stderr gets only the command's one start and one end line per file. The system
 * property {@code taco.progress} ({@code bar} or {@code log}) overrides the detection.
 */
interface DownloadProgress extends AutoCloseable {

  /** Widest bar line (name, percentage, MiB counts, speed and ETA stay readable). */
  int MAX_BAR_WIDTH = 160;

  /** Redraw interval of the bar. */
  Duration UPDATE_INTERVAL = Duration.ofMillis(250);

  int MIB = 1 << 20;

  void advance(long bytes);

  @Override
  void close();

  DownloadProgress NONE = new DownloadProgress() {
    @Override
    public void advance(long bytes) {}

    @Override
    public void close() {}
  };

  /** A bar for {@code label} of {@code total} bytes ({@code -1}: unknown, the bar then counts without an end). */
  static DownloadProgress start(String label, long total) {
    if (!stderrIsTerminal()) {
      return NONE;
    }
    ProgressBar bar = new ProgressBarBuilder()
        .setTaskName(label)
        .setInitialMax(total)
        .setStyle(ProgressBarStyle.ASCII)
        .setUnit(" MiB", MIB)
        .showSpeed()
        .setConsumer(new ConsoleProgressBarConsumer(System.err, MAX_BAR_WIDTH))
        .setUpdateIntervalMillis((int) UPDATE_INTERVAL.toMillis())
        .build();
    return new DownloadProgress() {
      @Override
      public void advance(long bytes) {
        bar.stepBy(bytes);
      }

      @Override
      public void close() {
        bar.close();
      }
    };
  }

  /** True when this process's stderr is a terminal (the test the other progress bars use). */
  static boolean stderrIsTerminal() {
    return ai.taco.cli.ConsoleProgress.stderrIsTerminal();
  }
}
