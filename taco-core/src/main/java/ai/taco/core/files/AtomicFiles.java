package ai.taco.core.files;

import ai.taco.core.error.TacoException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * Writes a file completely or not at all (temporary file in the same directory, then an atomic move). Public for the
 * tools that produce files outside this package (e.g. a verified download), so that every file TACO-J writes follows
 * the same rules.
 */
public final class AtomicFiles {
  private AtomicFiles() {}

  /**
   * Produces the content into a stream. An unchecked exception thrown here (e.g. content found invalid) propagates
   * as is, after the temporary file is deleted; an {@link IOException} is reported as the file not being writable.
   */
  public interface Writer {
    void writeTo(OutputStream out) throws IOException;
  }

  /**
   * Writes {@code file} (creating missing parent directories) from {@code writer}.
   *
   * @param overwrite whether an existing regular file may be replaced; if false and it exists, nothing is written.
   *     Directories, symbolic links, devices, FIFOs and sockets are never replaced ({@link OutputFiles}).
   */
  public static void write(Path file, boolean overwrite, Writer writer, java.util.function.Function<String, ? extends TacoException> error) {
    // Refuse before writing: the final move would fail (or replace a special file) only after all the work.
    String problem = OutputFiles.problem(file, overwrite, true);
    if (problem != null) {
      throw error.apply(problem);
    }
    Path dir = file.toAbsolutePath().getParent();
    Path tmp = null;
    try {
      Files.createDirectories(dir);
      removeStaleTemps(dir, file.getFileName().toString());
      tmp = createTemp(dir, file.getFileName().toString());
      try (OutputStream o = Files.newOutputStream(tmp)) {
        writer.writeTo(o);
      }
      // Again: the target may have been replaced by something else while the content was produced.
      problem = OutputFiles.problem(file, overwrite, true);
      if (problem != null) {
        throw error.apply(problem);
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
      throw error.apply(file + ": cannot write (" + InputFiles.reason(e) + ")");
    } finally {
      deleteQuietly(tmp);
    }
  }

  /**
   * Temporary files of a writer killed before its move (kill -9, power loss) are left behind as {@code .NAME.<random
   * base-36>.tmp}. Those of the same target older than this are deleted by the next write of that target; younger ones
   * may belong to a write still running.
   */
  static final Duration STALE_TEMP_AGE = Duration.ofHours(1);

  static void removeStaleTemps(Path dir, String name) {
    Pattern ours = Pattern.compile("\\." + Pattern.quote(name) + "\\.[0-9a-z]{1,13}\\.tmp");
    Instant cutoff = Instant.now().minus(STALE_TEMP_AGE);
    try (DirectoryStream<Path> temps = Files.newDirectoryStream(dir, "." + globEscape(name) + ".*.tmp")) {
      for (Path t : temps) {
        if (ours.matcher(t.getFileName().toString()).matches()
            && Files.isRegularFile(t, LinkOption.NOFOLLOW_LINKS)
            && Files.getLastModifiedTime(t, LinkOption.NOFOLLOW_LINKS).toInstant().isBefore(cutoff)) {
          deleteQuietly(t);
        }
      }
    } catch (IOException | java.util.regex.PatternSyntaxException e) {
      // best effort: a leftover temporary file is harmless
    }
  }

  private static String globEscape(String s) {
    return s.replaceAll("([\\\\*?\\[\\]{}])", "\\\\$1");
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
