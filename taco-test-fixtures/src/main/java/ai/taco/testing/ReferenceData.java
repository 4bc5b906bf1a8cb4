package ai.taco.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The one locator of the project's reference data, for every module's tests: {@code reference/} holds the outputs of
 * the reference implementations (official TACO on CompressAI, HuggingFace CLIP, lpips, pytorch-msssim, pytorch-fid,
 * cmmd) and {@code data/} the real images and captions they were run on, both tracked in this module under
 * {@code src/test/resources} (their READMEs say what every file is and how it was made).
 *
 * <p>The folder is {@value #ROOT_PROPERTY} when set (the parent pom sets it for Surefire), else found by walking up
 * from the working directory (a module or the repository root) to {@value #FIXTURES}. A missing file FAILS the test
 * with its path: a parity test must never pass by being skipped.
 */
public final class ReferenceData {
  /** System property naming the folder that holds {@code reference/} and {@code data/}. */
  public static final String ROOT_PROPERTY = "taco.reference.root";
  /** Where the files live, relative to the repository root. */
  static final String FIXTURES = "taco-test-fixtures/src/test/resources";

  private ReferenceData() {}

  /** An existing file or folder under {@code reference/} (outputs of the reference implementations). */
  public static Path reference(String rel) {
    return existing(root().resolve("reference").resolve(rel));
  }

  /** An existing file or folder under {@code data/} (images and captions). */
  public static Path data(String rel) {
    return existing(root().resolve("data").resolve(rel));
  }

  /** The folder holding {@code reference/} and {@code data/}. */
  public static Path root() {
    String p = System.getProperty(ROOT_PROPERTY);
    if (p != null && !p.isBlank()) {
      Path dir = Path.of(p).toAbsolutePath().normalize();
      if (!Files.isDirectory(dir.resolve("reference"))) {
        throw new AssertionError("-D" + ROOT_PROPERTY + "=" + p + " has no reference/ folder");
      }
      return dir;
    }
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path candidate = dir.resolve(FIXTURES);
      if (Files.isDirectory(candidate.resolve("reference"))) {
        return candidate;
      }
    }
    throw new AssertionError("reference data not found: expected " + FIXTURES
        + " in the repository (run the tests from the repository or a module folder, or set -D" + ROOT_PROPERTY + ")");
  }

  private static Path existing(Path p) {
    if (!Files.exists(p)) {
      throw new AssertionError("reference file missing: " + p);
    }
    return p;
  }
}
