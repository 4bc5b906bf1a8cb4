package ai.taco.eval.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/** Checks an output path before any work is done, so a long run never fails (or clobbers a file) at its very end. */
final class OutputPaths {
  private OutputPaths() {}

  /**
   * Throws unless {@code out} can be written: not a directory, not an existing file unless {@code force}, and in an
   * existing directory (nothing is created behind the user's back).
   */
  static void check(Path out, boolean force) {
    if (Files.isDirectory(out)) {
      throw new IllegalArgumentException(out + " is a directory");
    }
    if (Files.exists(out) && !force) {
      throw new IllegalArgumentException(out + " exists; pass --force to overwrite it");
    }
    Path parent = out.toAbsolutePath().getParent();
    if (parent != null && !Files.isDirectory(parent)) {
      throw new IllegalArgumentException("output directory " + parent + " does not exist");
    }
  }
}
