package ai.taco.core.io;

import java.nio.file.Files;
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
   * format), chosen by content, not by extension. {@code module.} prefixes are stripped.
   */
  public static Map<String, HostTensor> load(Path file) {
    if (Files.isDirectory(file)) {
      throw new WeightsException(file + ": is a directory, not a weights file");
    }
    if (!Files.isRegularFile(file)) {
      throw new WeightsException("weights file not found: " + file);
    }
    if (SafeTensors.looksLikeSafeTensors(file)) {
      Map<String, HostTensor> out = new LinkedHashMap<>();
      SafeTensors.read(file).tensors().forEach((k, v) -> out.put(stripModulePrefix(k), v));
      return out;
    }
    if (TorchCheckpoint.looksLikeTorch(file)) {
      return TorchCheckpoint.loadStateDict(file);
    }
    throw new WeightsException(
        file + ": neither a safetensors file nor a torch.save zip checkpoint (.pth/.pth.tar/.bin)");
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
    sb.append("\n  ").append(label).append(" (").append(keys.size()).append("): ");
    sb.append(String.join(", ", keys));
  }
}
