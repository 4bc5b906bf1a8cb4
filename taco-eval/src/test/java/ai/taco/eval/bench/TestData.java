package ai.taco.eval.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates ../shared/data and ../shared/golden (set by Surefire as taco.data / taco.golden); fails if missing. */
final class TestData {
  private TestData() {}

  static Path data(String rel) {
    return resolve("taco.data", "../shared/data", rel);
  }

  static Path golden(String rel) {
    return resolve("taco.golden", "../shared/golden", rel);
  }

  private static Path resolve(String prop, String fallback, String rel) {
    String base = System.getProperty(prop);
    Path p = (base != null ? Path.of(base) : Path.of(fallback)).resolve(rel);
    assertTrue(Files.exists(p), "test data missing: " + p.toAbsolutePath() + " (set -D" + prop + ")");
    return p;
  }
}
