package ai.taco.cli;

import ai.taco.core.files.OutputFiles;
import java.nio.file.Path;

/** Checks an output path before any work is done, so a long run never fails (or clobbers a file) at its very end. */
final class OutputPaths {
  private OutputPaths() {}

  /**
   * Throws unless {@code out} can be written: not a directory, symbolic link, device or FIFO, not an existing file
   * unless {@code force}, and in an existing, writable directory (nothing is created behind the user's back).
   */
  static void check(Path out, boolean force) {
    String problem = OutputFiles.problem(out, force, false);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
  }
}
