package ai.taco.core.weights;

import ai.djl.ndarray.types.DataType;
import ai.taco.core.error.WeightsException;
import ai.taco.core.files.InputFiles;
import ai.taco.core.tensor.HostTensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Loading weights in any supported format, and checking them against what a network expects. */
public final class StateDict {
  /** The prefix DistributedDataParallel adds to every key (official TACO checkpoints carry it). */
  static final String DDP_PREFIX = "module.";

  private StateDict() {}

  /**
   * Loads tensors from a safetensors file or a torch.save checkpoint (.pth, .pth.tar, .bin, .pt; zip or legacy
   * format), chosen by content, not by extension. {@code module.} prefixes are stripped. Float64 tensors are narrowed
   * to float32 here (every network computes in float32; float16 and bfloat16 are widened to float32 in Java when they
   * are uploaded, see {@link HostTensor#toNDArray}), and every floating-point tensor must be finite: a NaN or infinity
   * in a weight makes a codec write files that decode to garbage.
   *
   * @throws WeightsException naming the file (and the tensor, for a non-finite value)
   */
  public static Map<String, HostTensor> load(Path file) {
    InputFiles.requireRegular(file, "weights file", WeightsException::new);
    Map<String, HostTensor> raw;
    if (SafeTensors.looksLikeSafeTensors(file)) {
      raw = SafeTensors.read(file).tensors();
    } else if (TorchCheckpoint.looksLikeTorch(file)) {
      raw = TorchCheckpoint.loadStateDict(file);
    } else {
      throw new WeightsException(
          file + ": neither a safetensors file nor a torch.save checkpoint (.pth/.pth.tar/.bin/.pt)");
    }
    requireFinite(raw, file.toString());
    Map<String, HostTensor> out = new LinkedHashMap<>();
    for (Map.Entry<String, HostTensor> e : raw.entrySet()) {
      HostTensor t = e.getValue();
      out.put(stripModulePrefix(e.getKey()), t.dataType() == DataType.FLOAT64 ? t.toFloat32() : t);
    }
    return out;
  }

  /**
   * Throws unless every floating-point tensor is finite.
   *
   * @param source where the weights come from, for the message (a file name)
   * @throws WeightsException naming the source, the tensor and the first bad element
   */
  public static void requireFinite(Map<String, HostTensor> weights, String source) {
    for (Map.Entry<String, HostTensor> e : weights.entrySet()) {
      long bad = e.getValue().firstNonFinite();
      if (bad >= 0) {
        throw new WeightsException(source + ": tensor '" + e.getKey() + "' holds a non-finite value (NaN or infinity)"
            + " at element " + bad);
      }
    }
  }

  static String stripModulePrefix(String key) {
    return key.startsWith(DDP_PREFIX) ? key.substring(DDP_PREFIX.length()) : key;
  }

  /** The entries whose key starts with {@code prefix}, with the prefix removed. */
  public static Map<String, HostTensor> withPrefix(Map<String, HostTensor> weights, String prefix) {
    Map<String, HostTensor> out = new LinkedHashMap<>();
    weights.forEach(
        (k, v) -> {
          if (k.startsWith(prefix)) {
            out.put(k.substring(prefix.length()), v);
          }
        });
    return out;
  }

  /**
   * Checks {@code actual} against {@code expected} (key to shape) and throws ONE {@link WeightsException} listing
   * every missing, unexpected and mis-shaped key, so a user sees the whole mismatch at once.
   *
   * @param what what the weights are for, for the message (e.g. "TACO small preset")
   * @param ignoredUnexpected keys in {@code actual} that may be present without being expected (e.g. buffers)
   */
  public static void check(
      String what,
      Map<String, long[]> expected,
      Map<String, HostTensor> actual,
      java.util.function.Predicate<String> ignoredUnexpected) {
    List<String> missing = new ArrayList<>();
    List<String> misShaped = new ArrayList<>();
    List<String> unexpected = new ArrayList<>();
    for (Map.Entry<String, long[]> e : expected.entrySet()) {
      HostTensor t = actual.get(e.getKey());
      if (t == null) {
        missing.add(e.getKey());
      } else if (!Arrays.equals(t.shape(), e.getValue())) {
        misShaped.add(
            e.getKey() + " " + Arrays.toString(t.shape()) + " (expected " + Arrays.toString(e.getValue()) + ")");
      }
    }
    for (String k : actual.keySet()) {
      if (!expected.containsKey(k) && !ignoredUnexpected.test(k)) {
        unexpected.add(k);
      }
    }
    if (missing.isEmpty() && misShaped.isEmpty() && unexpected.isEmpty()) {
      return;
    }
    StringBuilder sb = new StringBuilder("weights do not match ").append(what).append(':');
    append(sb, "missing", missing);
    append(sb, "unexpected", unexpected);
    append(sb, "wrong shape", misShaped);
    throw new WeightsException(sb.toString());
  }

  private static void append(StringBuilder sb, String label, List<String> keys) {
    if (keys.isEmpty()) {
      return;
    }
    // One line: the CLI prints messages as "taco: <message>".
    sb.append(sb.charAt(sb.length() - 1) == ':' ? " " : "; ").append(label).append(" (").append(keys.size()).append("): ");
    sb.append(String.join(", ", keys));
  }
}
