package ai.taco.core.entropy;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.taco.core.io.HostTensor;
import ai.taco.core.io.StateDict;
import ai.taco.core.io.WeightsException;
import ai.taco.core.testing.Golden;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Damaged or foreign entropy-bottleneck weights end in a {@link WeightsException} when the tables are built, not in
 * an untyped entropy-coding error or an allocation of billions of floats.
 */
class EntropyBottleneckBadWeightsTest {
  private static Map<String, HostTensor> withQuantile(int index, float value) {
    Map<String, HostTensor> w = new LinkedHashMap<>(
        StateDict.withPrefix(StateDict.load(Golden.golden("taco-small/weights.safetensors")), "entropy_bottleneck."));
    HostTensor q = w.get("quantiles");
    float[] v = q.toFloatArray();
    v[index] = value;
    w.put("quantiles", HostTensor.ofFloats(v, q.shape()));
    return w;
  }

  @Test
  void nonFiniteOrHugeQuantilesAreRefusedByName() {
    // quantiles [C,1,3]: index 3*c + {0: lower, 1: median, 2: upper}.
    Object[][] cases = {{4, Float.NaN}, {3, Float.NEGATIVE_INFINITY}, {5, 1e9f}};
    for (Object[] c : cases) {
      try (NDManager m = NDManager.newBaseManager()) {
        EntropyBottleneck eb = EntropyBottleneck.load(32, withQuantile((int) c[0], (float) c[1]), m);
        WeightsException e = assertThrows(WeightsException.class, eb::update, "quantile " + c[0] + " = " + c[1]);
        assertTrue(e.getMessage().contains("channel 1"), e.getMessage());
      }
    }
    // The untouched weights still build their tables.
    try (NDManager m = NDManager.newBaseManager()) {
      EntropyBottleneck.load(32, StateDict.withPrefix(StateDict.load(Golden.golden("taco-small/weights.safetensors")),
          "entropy_bottleneck."), m).update();
    }
  }
}
