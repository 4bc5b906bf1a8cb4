package ai.taco.core.files;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * Checks made on an output path before any work is done and again just before writing: what would be replaced, and
 * whether the directory can take the file.
 *
 * <p>Only regular files are ever replaced. A symbolic link is refused rather than followed or replaced: replacing it
 * would silently turn the link into a file, and following it lets whoever controls the link choose what is
 * overwritten (as root, {@code --out /dev/null --force} used to replace the system's {@code /dev/null}). Give the
 * link's target instead. Devices, FIFOs and sockets are refused as well.
 */
public final class OutputFiles {
  private OutputFiles() {}

  /**
   * Why {@code file} cannot be written, or null if it can.
   *
   * @param overwrite whether an existing regular file may be replaced
   * @param createParents whether missing parent directories will be created (else they must exist)
   */
  public static String problem(Path file, boolean overwrite, boolean createParents) {
    if (Files.isSymbolicLink(file)) {
      return file + ": is a symbolic link; give the path of the file it points to";
    }
    if (Files.isDirectory(file, LinkOption.NOFOLLOW_LINKS)) {
      return file + ": is a directory, not a file";
    }
    if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
        return file + ": is not a regular file (a device, FIFO or socket); refusing to replace it";
      }
      if (!overwrite) {
        return file + ": already exists (use --force to overwrite)";
      }
    }
    Path parent = file.toAbsolutePath().getParent();
    Path existing = parent;
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    if (existing != null && !Files.isDirectory(existing)) {
      return file + ": cannot write: " + existing + " is a file, not a directory";
    }
    if (existing != null && !existing.equals(parent) && !createParents) {
      return file + ": output directory " + parent + " does not exist";
    }
    if (existing != null && !Files.isWritable(existing)) {
      return file + ": cannot write: directory " + existing + " is not writable";
    }
    return null;
  }
}
