package ai.taco.core.testing;

import ai.taco.core.io.HostTensor;
import ai.taco.core.io.SafeTensors;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Access to the read-only reference data in {@code ../shared} (golden tensors from the reference implementations,
 * and real images/captions). Resolved from the {@code taco.golden} / {@code taco.data} system properties (set by the
 * parent pom for Surefire) or, failing that, {@code ../shared} above the repository root. A missing folder FAILS the
 * test: parity tests must never pass by being skipped.
 */
public final class Golden {
  private static final ObjectMapper JSON = new ObjectMapper();

  private Golden() {}

  /** A file or folder under {@code ../shared/golden}. */
  public static Path golden(String rel) {
    return existing(root("taco.golden", "golden").resolve(rel));
  }

  /** A file or folder under {@code ../shared/data}. */
  public static Path data(String rel) {
    return existing(root("taco.data", "data").resolve(rel));
  }

  /** All tensors of a golden safetensors file. */
  public static Map<String, HostTensor> tensors(String rel) {
    return SafeTensors.read(golden(rel)).tensors();
  }

  /** A golden JSON file. */
  public static JsonNode json(String rel) {
    try {
      return JSON.readTree(golden(rel).toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
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
