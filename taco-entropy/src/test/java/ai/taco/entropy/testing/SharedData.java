package ai.taco.entropy.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The one locator of the read-only reference data in {@code ../shared} ({@code golden}: tensors from the reference
 * implementations; {@code data}: real images and captions), for every module's tests (taco-core's {@code Golden} reads
 * through it). Resolved from the {@code taco.golden} / {@code taco.data} system properties (set by the parent pom for
 * Surefire) or, failing that, {@code ../shared} above the repository root. A missing folder or file FAILS the test:
 * parity tests must never pass by being skipped.
 */
public final class SharedData {
  private SharedData() {}

  /** An existing file or folder under {@code ../shared/golden}. */
  public static Path golden(String rel) {
    return existing(root("taco.golden", "golden").resolve(rel));
  }

  /** An existing file or folder under {@code ../shared/data}. */
  public static Path data(String rel) {
    return existing(root("taco.data", "data").resolve(rel));
  }

  private static Path root(String property, String folder) {
    String p = System.getProperty(property);
    if (p != null && Files.isDirectory(Path.of(p))) {
      return Path.of(p).toAbsolutePath().normalize();
    }
    // Walk up from the working directory (a module or the repo root) to the folder beside the repository.
    for (Path dir = Path.of("").toAbsolutePath(); dir.getParent() != null; dir = dir.getParent()) {
      Path candidate = dir.getParent().resolve("shared").resolve(folder);
      if (Files.isDirectory(candidate)) {
        return candidate;
      }
    }
    throw new AssertionError(
        "reference data not found: expected ../shared/" + folder + " beside the repository (or -D" + property + ")");
  }

  private static Path existing(Path p) {
    if (!Files.exists(p)) {
      throw new AssertionError("reference file missing: " + p);
    }
    return p;
  }
}
