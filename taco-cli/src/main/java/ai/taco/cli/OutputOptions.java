package ai.taco.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The output option of {@code taco compress} and {@code taco decompress}: --force, and the checks before any work. */
public final class OutputOptions {

  @Option(
      names = "--force",
      description = "Overwrite the output file if it exists.")
  boolean force;

  public OutputOptions() {}

  /** Fails early (before any work) if {@code out} exists and --force was not given, or cannot be written. */
  void checkOutput(Path out) {
    checkOutput(out, null);
  }

  /** As {@link #checkOutput(Path)}, and refuses to write over the command's own input {@code in}. */
  void checkOutput(Path out, Path in) {
    try {
      if (in != null && Files.exists(out) && Files.exists(in) && Files.isSameFile(in, out)) {
        throw new IllegalArgumentException(out + " is the input file; choose another output");
      }
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("cannot check " + out + ": " + e.getMessage(), e);
    }
    OutputPaths.check(out, force);
  }
}
