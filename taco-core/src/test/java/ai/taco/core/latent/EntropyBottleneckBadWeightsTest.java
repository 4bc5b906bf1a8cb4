package ai.taco.core.latent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.taco.core.bitstream.CompressAiFile;
import ai.taco.core.error.WeightsException;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.core.weights.StateDict;
import ai.taco.entropy.EntropyCodingException;
import java.util.Arrays;
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
        StateDict.withPrefix(StateDict.load(Golden.tacoSmallWeights()), "entropy_bottleneck."));
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
      EntropyBottleneck.load(32, StateDict.withPrefix(StateDict.load(Golden.tacoSmallWeights()),
          "entropy_bottleneck."), m).update();
    }
  }

  @Test
  void zStringsMustBeUsedUpExactly() throws Exception {
    // The golden 64x64 file's z string (second string of the official .bin): 28 bytes for a 1x1 latent of 32 channels.
    CompressAiFile bin = CompressAiFile.read(Golden.golden("taco-small/img0_64x64.bin"));
    byte[] z = bin.zString();
    try (NDManager m = NDManager.newBaseManager()) {
      EntropyBottleneck eb = EntropyBottleneck.load(32, StateDict.withPrefix(
          StateDict.load(Golden.tacoSmallWeights()), "entropy_bottleneck."), m);
      eb.update();
      float[] expected = Golden.tensors("taco-small/img0_64x64.safetensors").get("decompress.z_hat").toFloatArray();
      assertArrayEquals(expected, eb.decompress(new byte[][] {z}, 1, 1, m).toFloatArray());
      // Extra trailing words are never read by the reference (it would decode garbage silently); here they are refused.
      byte[] longer = Arrays.copyOf(z, z.length + 4);
      assertThrows(EntropyCodingException.class, () -> eb.decompress(new byte[][] {longer}, 1, 1, m));
      // Every single-byte change of the string is caught (decode error or a stream not used up exactly).
      int undetected = 0;
      for (int i = 0; i < z.length; i++) {
        byte[] c = z.clone();
        c[i] ^= 0x5a;
        try {
          eb.decompress(new byte[][] {c}, 1, 1, m);
          undetected++;
        } catch (EntropyCodingException e) {
          // expected
        }
      }
      assertTrue(undetected <= 2, undetected + " of " + z.length + " corrupted z strings decoded silently");
    }
  }
}
