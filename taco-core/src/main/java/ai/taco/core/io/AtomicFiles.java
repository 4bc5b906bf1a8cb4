package ai.taco.core.io;

import ai.taco.core.TacoException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Writes a file completely or not at all (temporary file in the same directory, then an atomic move). */
final class AtomicFiles {
  private AtomicFiles() {}

  /** Produces the content into a stream. */
  interface Writer {
    void writeTo(OutputStream out) throws IOException;
  }

  /**
   * @param overwrite whether an existing {@code file} may be replaced; if false and it exists, {@code onExists} is
   *     thrown and nothing is written
   */
  static void write(Path file, boolean overwrite, Writer writer, java.util.function.Function<String, ? extends TacoException> error) {
    if (!overwrite && Files.exists(file)) {
      throw error.apply(file + ": already exists (use --force to overwrite)");
    }
    Path dir = file.toAbsolutePath().getParent();
    Path tmp = null;
    try {
      Files.createDirectories(dir);
      tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
      try (OutputStream o = Files.newOutputStream(tmp)) {
        writer.writeTo(o);
      }
      if (overwrite) {
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
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // best effort: our own temporary file
        }
      }
    }
  }
}
