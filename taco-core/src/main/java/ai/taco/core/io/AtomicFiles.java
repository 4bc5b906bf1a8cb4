package ai.taco.core.io;

import ai.taco.core.TacoException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.util.concurrent.ThreadLocalRandom;

/** Writes a file completely or not at all (temporary file in the same directory, then an atomic move). */
final class AtomicFiles {
  private AtomicFiles() {}

  /** Produces the content into a stream. */
  interface Writer {
    void writeTo(OutputStream out) throws IOException;
  }

  /**
   * @param overwrite whether an existing {@code file} may be replaced; if false and it exists, {@code onExists} is
   *     thrown and nothing is written. A directory is never replaced.
   */
  static void write(Path file, boolean overwrite, Writer writer, java.util.function.Function<String, ? extends TacoException> error) {
    if (Files.isDirectory(file)) {
      // Refuse before writing: the final move would fail only after all the work (and a non-atomic
      // Files.move(REPLACE_EXISTING) deletes an empty directory to put the file in its place).
      throw error.apply(file + ": is a directory, not a file");
    }
    if (!overwrite && Files.exists(file)) {
      throw error.apply(file + ": already exists (use --force to overwrite)");
    }
    Path dir = file.toAbsolutePath().getParent();
    Path tmp = null;
    try {
      Files.createDirectories(dir);
      tmp = createTemp(dir, file.getFileName().toString());
      try (OutputStream o = Files.newOutputStream(tmp)) {
        writer.writeTo(o);
      }
      if (overwrite) {
        copyPermissions(file, tmp);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } else {
        // Without REPLACE_EXISTING the move fails if the file appeared meanwhile.
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
      }
      tmp = null;
    } catch (FileAlreadyExistsException e) {
      throw error.apply(file + ": already exists (use --force to overwrite)");
    } catch (IOException e) {
      throw error.apply(file + ": cannot write (" + e + ")");
    } finally {
      deleteQuietly(tmp);
    }
  }

  /**
   * A new empty file next to the target. Unlike {@link Files#createTempFile}, which makes it owner-only (0600), it gets
   * the permissions of any new file (0666 less the umask), so the result is as readable as a file written directly.
   */
  static Path createTemp(Path dir, String name) throws IOException {
    for (int attempt = 0; ; attempt++) {
      Path tmp = dir.resolve("." + name + "." + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + ".tmp");
      try {
        return Files.createFile(tmp);
      } catch (FileAlreadyExistsException e) {
        if (attempt >= 100) {
          throw e;
        }
      }
    }
  }

  /** When replacing a file, the new one keeps the old one's POSIX permissions (best effort). */
  static void copyPermissions(Path from, Path to) {
    try {
      PosixFileAttributeView src = Files.getFileAttributeView(from, PosixFileAttributeView.class);
      PosixFileAttributeView dst = Files.getFileAttributeView(to, PosixFileAttributeView.class);
      if (src != null && dst != null && Files.exists(from)) {
        dst.setPermissions(src.readAttributes().permissions());
      }
    } catch (IOException | UnsupportedOperationException e) {
      // keep the default permissions
    }
  }

  static void deleteQuietly(Path tmp) {
    if (tmp != null) {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // best effort: our own temporary file
      }
    }
  }
}
