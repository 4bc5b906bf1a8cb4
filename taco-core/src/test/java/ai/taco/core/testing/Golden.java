package ai.taco.core.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.SafeTensors;
import ai.taco.core.weights.StateDict;
import ai.taco.testing.ReferenceData;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The test support of every module that uses libtorch: the reference data in taco-test-fixtures (located by
 * {@link ReferenceData}: a missing file FAILS the test) read as tensors or JSON, and image comparisons; {@link Diff}
 * holds the tolerance measures.
 */
public final class Golden {
  private static final ObjectMapper JSON = new ObjectMapper();

  private Golden() {}

  /** A file or folder of the reference implementations' outputs ({@code reference/} of the test fixtures). */
  public static Path golden(String rel) {
    return ReferenceData.reference(rel);
  }

  /** A file or folder of the images and captions ({@code data/} of the test fixtures). */
  public static Path data(String rel) {
    return ReferenceData.data(rel);
  }

  private static Path tacoSmallSafetensors;

  /**
   * The small official checkpoint ({@code taco-small/checkpoint.pth.tar}, the official format) as a plain safetensors
   * state dict named {@code weights.safetensors}, made once per test JVM under this module's {@code target/} by the
   * library's own converter ({@link StateDict#load} then {@link SafeTensors#write}, what {@code taco export} does).
   * The repository carries the checkpoint once; every test that codes with these weights and meets the official
   * bitstreams proves the conversion too.
   */
  public static synchronized Path tacoSmallWeights() {
    if (tacoSmallSafetensors == null) {
      Path out = Path.of("target", "derived-reference", "taco-small", "weights.safetensors").toAbsolutePath();
      try {
        Files.createDirectories(out.getParent());
        Path tmp = Files.createTempFile(out.getParent(), "weights", ".tmp");
        SafeTensors.write(tmp, StateDict.load(golden("taco-small/checkpoint.pth.tar")),
            Map.of("source", "taco-small/checkpoint.pth.tar (converted by the tests)"));
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      tacoSmallSafetensors = out;
    }
    return tacoSmallSafetensors;
  }

  /** All tensors of a golden safetensors file. */
  public static Map<String, HostTensor> tensors(String rel) {
    return SafeTensors.read(golden(rel)).tensors();
  }

  /** All tensors of a golden safetensors file as NDArrays of {@code manager}, read by DJL's own decoder (names kept). */
  public static Map<String, NDArray> ndArrays(NDManager manager, String rel) {
    return ndArrays(manager, golden(rel));
  }

  /** All tensors of a safetensors file as NDArrays of {@code manager}, read by DJL's own decoder (names kept). */
  public static Map<String, NDArray> ndArrays(NDManager manager, Path file) {
    try {
      Map<String, NDArray> out = new LinkedHashMap<>();
      for (NDArray a : NDList.decode(manager, Files.readAllBytes(file))) {
        out.put(a.getName(), a);
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
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

  /**
   * {@link #assertSame8BitImage} against an official 8-bit image known only by its SHA-256 (of its interleaved RGB bytes,
   * row-major) and the official float x̂ of the samples near a rounding midpoint ({@code nearIndex} into [3,H,W], a
   * superset of those within the tie band): {@code actual} (float x̂ [3,H,W], clamped and rounded as torch.round does)
   * may differ from the official level by one only at such a sample within the tie band; those samples take the
   * official level and the whole image must then hash to {@code officialSha256}. Returns how many ties flipped.
   */
  public static int assertSame8BitImage(String officialSha256, int[] nearIndex, float[] nearXHat, float[] actual,
      int height, int width, String what) {
    if (actual.length != 3 * height * width || nearIndex.length != nearXHat.length) {
      throw new AssertionError(what + ": sizes differ");
    }
    int[] levels = new int[actual.length];
    for (int i = 0; i < actual.length; i++) {
      levels[i] = (int) Math.rint(Math.min(1f, Math.max(0f, actual[i])) * 255f);
    }
    int ties = 0;
    for (int k = 0; k < nearIndex.length; k++) {
      int i = nearIndex[k];
      float clamped = Math.min(1f, Math.max(0f, nearXHat[k]));
      int official = (int) Math.rint(clamped * 255f);
      if (levels[i] == official) {
        continue;
      }
      double level = clamped * 255.0;
      double fromMidpoint = Math.abs(level - Math.floor(level) - 0.5) / 255.0;
      if (Math.abs(levels[i] - official) != 1 || fromMidpoint > ROUNDING_TIE_BAND) {
        throw new AssertionError(String.format(
            "%s: element %d is %d/255, the official image has %d/255 (official x_hat %.9f, not a rounding tie)",
            what, i, levels[i], official, nearXHat[k]));
      }
      levels[i] = official;
      ties++;
    }
    int plane = height * width;
    byte[] hwc = new byte[actual.length];
    for (int p = 0; p < plane; p++) {
      for (int c = 0; c < 3; c++) {
        hwc[3 * p + c] = (byte) levels[c * plane + p];
      }
    }
    if (!sha256(hwc).equals(officialSha256)) {
      throw new AssertionError(what + ": the 8-bit image differs from the official one away from rounding ties");
    }
    return ties;
  }

  /** Lower-case hex SHA-256 of {@code bytes}. */
  public static String sha256(byte[] bytes) {
    try {
      return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }


  /**
   * The golden random InceptionV3 (stored on an int8 power-of-two grid, see fid/README.md) written to {@code out} as
   * float32 safetensors under pytorch-fid key names, the form the FID and evaluation commands read.
   */
  public static Path dequantizedInception(Path out) throws IOException {
    SafeTensors.Contents c = SafeTensors.read(golden("fid/inception-fid-int8.safetensors"));
    JsonNode exps = JSON.readTree(c.metadata().get("int8_pow2_exponents"));
    Map<String, HostTensor> w = new LinkedHashMap<>();
    c.tensors().forEach((k, t) -> {
      if (t.dataType() == ai.djl.ndarray.types.DataType.INT8) {
        float[] q = t.toFloatArray();
        float scale = (float) Math.scalb(1.0, exps.get(k).asInt());
        for (int i = 0; i < q.length; i++) {
          q[i] *= scale;
        }
        w.put(k, HostTensor.ofFloats(q, t.shape()));
      } else {
        w.put(k, t);
      }
    });
    SafeTensors.write(out, w, Map.of());
    return out;
  }

  /** The golden small CLIP vision tower as a HuggingFace folder in {@code dir} (what CMMD's {@code --cmmd-clip} reads). */
  public static Path smallVisionClip(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.copy(golden("clip/vision-small-config.json"), dir.resolve("config.json"));
    Files.copy(golden("clip/vision-small.safetensors"), dir.resolve("model.safetensors"));
    return dir;
  }
}
