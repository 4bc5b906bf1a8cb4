package ai.taco.core;

import ai.taco.core.error.WeightsException;
import ai.taco.core.tensor.HostTensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Architecture of a TACO model (official config/config.py plus the CLIP text width): N channels in gA/gS/hA/hS, M latent
 * channels, the uneven channel slices of the context model (summing to M), the caption feature width and the number
 * of attention heads of the Injector/Extractor.
 *
 * @param n width of the transforms (N)
 * @param m latent channels (M)
 * @param sliceChannels channels per latent slice, coded in this order; must sum to M
 * @param textDim width of the caption features (512 for CLIP ViT-B/32)
 * @param heads attention heads of the Injector/Extractor (nn.MultiheadAttention default in TACO: 8)
 */
public record TacoConfig(int n, int m, List<Integer> sliceChannels, int textDim, int heads) {

  /** The paper's model: N=192, M=320, slices [16,16,32,64,192] (official config/config.py), CLIP width 512, 8 heads. */
  public static final TacoConfig FULL = new TacoConfig(192, 320, List.of(16, 16, 32, 64, 192), 512, 8);

  /** The model of the reference data (taco-test-fixtures, reference/taco-small): N=32, M=64, slices [4,4,8,16,32]. */
  public static final TacoConfig SMALL = new TacoConfig(32, 64, List.of(4, 4, 8, 16, 32), 512, 8);

  /**
   * Smallest model that keeps every part of the architecture (5 slices, all attention paths), for CPU training smoke
   * runs: N=16 (2 dims per head), M=32, slices [2,2,4,8,16].
   */
  public static final TacoConfig TINY = new TacoConfig(16, 32, List.of(2, 2, 4, 8, 16), 512, 8);

  public TacoConfig {
    sliceChannels = List.copyOf(sliceChannels);
    if (n <= 0 || m <= 0 || textDim <= 0 || heads <= 0) {
      throw new IllegalArgumentException("TacoConfig sizes must be positive: " + n + ", " + m + ", " + textDim + ", " + heads);
    }
    if (sliceChannels.stream().mapToInt(Integer::intValue).sum() != m) {
      throw new IllegalArgumentException("slice channels " + sliceChannels + " do not sum to M=" + m);
    }
    if (n % heads != 0 || textDim % heads != 0) {
      throw new IllegalArgumentException("N=" + n + " and textDim=" + textDim + " must be divisible by heads=" + heads);
    }
    if (n % 2 != 0 || m % 2 != 0) {
      throw new IllegalArgumentException("N and M must be even (residual units use N/2 channels)");
    }
  }

  /** {@code full}, {@code small} or {@code tiny}. */
  public static TacoConfig preset(String name) {
    return switch (name.toLowerCase(java.util.Locale.ROOT)) {
      case "full" -> FULL;
      case "small" -> SMALL;
      case "tiny" -> TINY;
      default -> throw new IllegalArgumentException("unknown preset '" + name + "' (full, small, tiny)");
    };
  }

  /** Key whose shape is [N, 3, 5, 5]: the first conv of gA (image to N channels). */
  static final String N_KEY = "g_a.analysis_transform.0.weight";

  /** Key whose shape is [M, N, 5, 5]: the last conv of gA (N to M latent channels). */
  static final String M_KEY = "g_a.analysis_transform.16.weight";

  /** Key whose shape is [N, textDim]: the first Injector's projection of the caption features. */
  static final String TEXT_KEY = "g_a.analysis_transform.8.text_feature_dim_proj.weight";

  /** Keys (i = 0, 1, ...) whose shapes are [2·C_i, C_i, 5, 5]: the spatial context conv of slice i. */
  static final String SLICE_KEY = "local_context.%d.weight";

  /**
   * Attention heads leave no trace in the weight shapes (nn.MultiheadAttention packs them into one [3E, E]
   * in_proj_weight), so weights are read with the count the official code uses.
   */
  static final int DEFAULT_HEADS = 8;

  /**
   * The architecture of a TACO state dict (official key names, {@code module.} already stripped as {@link
   * ai.taco.core.weights.StateDict#load} does), read from tensor shapes like CompressAI's {@code from_state_dict}: N from
   * gA's first conv, M from its last, the slice widths from the local-context convs, the text width from the first
   * Injector's projection; heads are not in the shapes ({@link #DEFAULT_HEADS}). The result is then checked against
   * the complete key/shape map that config builds, so what it returns loads.
   *
   * @throws WeightsException (one line, naming the shapes found) when the state dict fits no TACO layout: a missing
   *     or mis-ranked key, slices not summing to M, any key or shape the inferred config does not produce
   */
  public static TacoConfig infer(Map<String, HostTensor> stateDict) {
    int n = dim(stateDict, N_KEY, 4, 0);
    int m = dim(stateDict, M_KEY, 4, 0);
    int textDim = dim(stateDict, TEXT_KEY, 2, 1);
    List<Integer> slices = new ArrayList<>();
    // At most M slices of at least one channel each: bounds the scan whatever the map holds.
    for (int i = 0; i <= m && stateDict.containsKey(SLICE_KEY.formatted(i)); i++) {
      slices.add(dim(stateDict, SLICE_KEY.formatted(i), 4, 1));
    }
    String found = N_KEY + " " + shape(stateDict, N_KEY) + ", " + M_KEY + " " + shape(stateDict, M_KEY) + ", "
        + TEXT_KEY + " " + shape(stateDict, TEXT_KEY) + ", local_context.*.weight slices " + slices;
    if (slices.isEmpty()) {
      throw notTaco("no " + SLICE_KEY.formatted(0), found);
    }
    TacoConfig config;
    try {
      config = new TacoConfig(n, m, slices, textDim, DEFAULT_HEADS);
    } catch (IllegalArgumentException e) {
      throw notTaco(e.getMessage(), found);
    }
    Map<String, long[]> expected = TacoModel.expectedShapes(config);
    List<String> missing = new ArrayList<>();
    List<String> misShaped = new ArrayList<>();
    List<String> unexpected = new ArrayList<>();
    expected.forEach(
        (k, v) -> {
          HostTensor t = stateDict.get(k);
          if (t == null) {
            missing.add(k);
          } else if (!Arrays.equals(t.shape(), v)) {
            misShaped.add(k + " " + Arrays.toString(t.shape()) + " (expected " + Arrays.toString(v) + ")");
          }
        });
    for (String k : stateDict.keySet()) {
      if (!expected.containsKey(k) && !TacoModel.isBufferKey(k)) {
        unexpected.add(k);
      }
    }
    if (missing.isEmpty() && misShaped.isEmpty() && unexpected.isEmpty()) {
      return config;
    }
    StringBuilder problem = new StringBuilder("the inferred config " + config + " does not account for");
    summarize(problem, "missing", missing);
    summarize(problem, "wrong shape", misShaped);
    summarize(problem, "unexpected", unexpected);
    throw notTaco(problem.toString(), found);
  }

  /** Dimension {@code index} of a key that must have {@code rank} dimensions, as a positive int. */
  private static int dim(Map<String, HostTensor> stateDict, String key, int rank, int index) {
    HostTensor t = stateDict.get(key);
    if (t == null) {
      throw new WeightsException("weights fit no TACO layout: no " + key + " (" + stateDict.size() + " keys"
          + (stateDict.isEmpty() ? "" : ", first " + stateDict.keySet().iterator().next()) + ")");
    }
    long[] s = t.shape();
    if (s.length != rank || s[index] <= 0 || s[index] > Integer.MAX_VALUE) {
      throw new WeightsException(
          "weights fit no TACO layout: " + key + " has shape " + Arrays.toString(s) + ", expected " + rank + " dims");
    }
    return (int) s[index];
  }

  private static String shape(Map<String, HostTensor> stateDict, String key) {
    return Arrays.toString(stateDict.get(key).shape());
  }

  /** Appends the count and the first few keys of one kind of mismatch (the message stays one readable line). */
  private static void summarize(StringBuilder sb, String label, List<String> keys) {
    final int shown = 3;
    if (!keys.isEmpty()) {
      sb.append("; ").append(label).append(" (").append(keys.size()).append("): ");
      sb.append(String.join(", ", keys.subList(0, Math.min(shown, keys.size()))));
      if (keys.size() > shown) {
        sb.append(", ...");
      }
    }
  }

  private static WeightsException notTaco(String problem, String found) {
    return new WeightsException("weights fit no TACO layout: " + problem + " (shapes found: " + found + ")");
  }

  /** Number of latent slices. */
  public int slices() {
    return sliceChannels.size();
  }

  /** First channel of slice i. */
  public int sliceStart(int i) {
    int s = 0;
    for (int k = 0; k < i; k++) {
      s += sliceChannels.get(k);
    }
    return s;
  }
}
