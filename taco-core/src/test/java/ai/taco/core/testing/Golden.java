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

  /**
   * Float x̂ tolerance under which 8-bit rounding is called ill-conditioned: the decoder's parity with the official
   * x̂ is ~1e-6 (TacoModelParityTest), so only pixels this close to a rounding midpoint can legitimately flip.
   */
  private static final double ROUNDING_TIE_BAND = 1e-5;

  /**
   * Our decoded image, read back from its 8-bit PNG ({@code actual}, values k/255), equals the official 8-bit PNG
   * ({@code expected}) except for pixels one level apart where the official float x̂ ({@code officialXHat}) lies within
   * {@link #ROUNDING_TIE_BAND} of a rounding midpoint: there round(255·x) flips on differences far below the parity
   * tolerance (libtorch 2.7 and torch 1.13 sum convolutions in different orders). Returns how many such ties flipped.
   */
  public static int assertSame8BitImage(float[] officialXHat, float[] expected, float[] actual, String what) {
    if (expected.length != actual.length || officialXHat.length != expected.length) {
      throw new AssertionError(what + ": sizes differ");
    }
    int ties = 0;
    for (int i = 0; i < expected.length; i++) {
      long e = Math.round(expected[i] * 255.0);
      long a = Math.round(actual[i] * 255.0);
      if (e == a) {
        continue;
      }
      double level = Math.max(0, Math.min(1, officialXHat[i])) * 255.0;
      double fromMidpoint = Math.abs(level - Math.floor(level) - 0.5) / 255.0;
      if (Math.abs(e - a) != 1 || fromMidpoint > ROUNDING_TIE_BAND) {
        throw new AssertionError(String.format(
            "%s: element %d is %d/255, the official PNG has %d/255 (official x_hat %.9f, not a rounding tie)",
            what, i, a, e, officialXHat[i]));
      }
      ties++;
    }
    return ties;
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
