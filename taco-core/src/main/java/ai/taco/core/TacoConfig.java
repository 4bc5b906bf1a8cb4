package ai.taco.core;

import ai.taco.core.io.HostTensor;
import ai.taco.core.io.WeightsException;
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

  /** The golden-data model (../shared/golden/taco-small): N=32, M=64, slices [4,4,8,16,32]. */
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

  // STUB: replaced by merge
  /**
   * The architecture of a state dict (official key names), read from its shapes.
   *
   * @throws WeightsException naming the shapes that fit no TACO layout
   */
  public static TacoConfig infer(Map<String, HostTensor> stateDict) {
    String key = "g_a.analysis_transform.0.weight";
    HostTensor first = stateDict.get(key);
    if (first == null) {
      throw new WeightsException("not a TACO state dict: no " + key);
    }
    long n = first.shape()[0];
    for (TacoConfig c : List.of(FULL, SMALL, TINY)) {
      if (c.n() == n) {
        return c;
      }
    }
    throw new WeightsException(key + " has shape " + Arrays.toString(first.shape()) + ", which fits no TACO preset");
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
