package ai.taco.metrics;

import ai.taco.core.tensor.HostTensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The random PieAPP weights of the reference data (reference/pieapp/README.md), rebuilt from their recipe: PieAPP's
 * 67M weights are too many to store, so scripts/reference/pieapp.py defines each element by a counter-based hash.
 * Element i of the k-th tensor (1-based, in {@link #stateDict()} order) is {@code splitmix64(k << 40 | i)}, whose top
 * 24 bits t give {@code (2t + 1 - 2^24) / 2^24} in (-1, 1), times the tensor's bound, all in float32.
 */
final class PieappRandomWeights {
  /** Bias bound of the recipe. */
  static final double BIAS_BOUND = 0.1;

  private PieappRandomWeights() {}

  /** The state dict in PieAPPv0.1.pth's layout ({@code ref_score_subtract.weight} as [1]). */
  static Map<String, HostTensor> stateDict() {
    Map<String, HostTensor> sd = new LinkedHashMap<>();
    int[] index = {0};
    for (int i = 0; i < Pieapp.CONV_IN.length; i++) {
      int cin = Pieapp.CONV_IN[i];
      int cout = Pieapp.CONV_OUT[i];
      put(sd, index, "conv" + (i + 1) + ".weight", Math.sqrt(6.0 / (cin * 9)), cout, cin, 3, 3);
      put(sd, index, "conv" + (i + 1) + ".bias", BIAS_BOUND, cout);
    }
    for (String head : new String[] {"score", "weight"}) {
      int fanIn = head.equals("score") ? Pieapp.FEATURE_DIM : Pieapp.WEIGHT_FEATURE_DIM;
      put(sd, index, "fc1_" + head + ".weight", Math.sqrt(6.0 / fanIn), Pieapp.HIDDEN, fanIn);
      put(sd, index, "fc1_" + head + ".bias", BIAS_BOUND, Pieapp.HIDDEN);
      put(sd, index, "fc2_" + head + ".weight", Math.sqrt(6.0 / Pieapp.HIDDEN), 1, Pieapp.HIDDEN);
      put(sd, index, "fc2_" + head + ".bias", BIAS_BOUND, 1);
    }
    put(sd, index, "ref_score_subtract.weight", 1.0, 1);
    put(sd, index, "ref_score_subtract.bias", 1.0, 1);
    return sd;
  }

  private static void put(Map<String, HostTensor> sd, int[] index, String key, double bound, long... shape) {
    long n = 1;
    for (long s : shape) {
      n *= s;
    }
    sd.put(key, HostTensor.ofFloats(tensor(++index[0], (int) n, bound), shape));
  }

  static float[] tensor(int index, int n, double bound) {
    float b = (float) bound;
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      long z = ((long) index << 40) + i + 0x9E3779B97F4A7C15L;
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      z ^= z >>> 31;
      long top = z >>> 40;
      out[i] = (float) (2 * top + 1 - (1L << 24)) / (float) (1 << 24) * b;
    }
    return out;
  }
}
