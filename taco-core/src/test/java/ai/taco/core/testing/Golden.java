package ai.taco.core.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.taco.core.io.HostTensor;
import ai.taco.core.io.SafeTensors;
import ai.taco.entropy.testing.SharedData;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The test support of every module that uses libtorch: the read-only reference data in {@code ../shared} (located by
 * {@link SharedData}: a missing folder FAILS the test) read as tensors or JSON, and image comparisons; {@link Diff}
 * holds the tolerance measures.
 */
public final class Golden {
  private static final ObjectMapper JSON = new ObjectMapper();

  private Golden() {}

  /** A file or folder under {@code ../shared/golden}. */
  public static Path golden(String rel) {
    return SharedData.golden(rel);
  }

  /** A file or folder under {@code ../shared/data}. */
  public static Path data(String rel) {
    return SharedData.data(rel);
  }

  /** All tensors of a golden safetensors file. */
  public static Map<String, HostTensor> tensors(String rel) {
    return SafeTensors.read(golden(rel)).tensors();
  }

  /** All tensors of a golden safetensors file as NDArrays of {@code manager}, read by DJL's own decoder (names kept). */
  public static Map<String, NDArray> ndArrays(NDManager manager, String rel) {
    try {
      Map<String, NDArray> out = new LinkedHashMap<>();
      for (NDArray a : NDList.decode(manager, Files.readAllBytes(golden(rel)))) {
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
