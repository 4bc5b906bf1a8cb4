package ai.taco.core.files;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.function.Function;

/** Checks on input files that name what is actually wrong (missing, a directory, a device or FIFO, unreadable). */
public final class InputFiles {
  private InputFiles() {}

  /**
   * Throws unless {@code file} is a readable regular file (symbolic links followed).
   *
   * @param what what the file should be, for the message (e.g. "weights file")
   */
  public static void requireRegular(Path file, String what, Function<String, ? extends RuntimeException> error) {
    if (Files.isRegularFile(file)) {
      if (!Files.isReadable(file)) {
        throw error.apply(file + ": cannot read (permission denied)");
      }
      return;
    }
    if (Files.isDirectory(file)) {
      throw error.apply(file + ": is a directory, not a " + what);
    }
    if (Files.exists(file)) {
      // Reading a FIFO blocks and a device such as /dev/zero never ends: refuse them by kind.
      throw error.apply(file + ": is not a regular file (a device, FIFO or socket), not a " + what);
    }
    if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      throw error.apply(file + ": is a broken symbolic link, not a " + what);
    }
    throw error.apply(what + " not found: " + file);
  }

  /** A short reason for an I/O failure ({@code AccessDeniedException}'s message is only the path). */
  public static String reason(IOException e) {
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof NoSuchFileException) {
      return "no such file";
    }
    if (e instanceof NotDirectoryException) {
      return "a parent is not a directory";
    }
    String m = e.getMessage();
    return m == null ? e.getClass().getSimpleName() : m.replace('\n', ' ');
  }
}
