package ai.taco.core.latent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.StateDict;
import ai.taco.core.testing.Golden;
import ai.taco.entropy.RansEncoder;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The entropy-model parts of the official TACO small model (golden/taco-small): z coding, z likelihoods, the
 * EntropyBottleneck's gradients of the golden training loss, the aux loss and its gradient, and the y string from the
 * recorded symbols and scales.
 */
class TacoSmallEntropyTest {
  private static NDManager manager;
  private static EntropyBottleneck eb;

  @BeforeAll
  static void setUp() {
    manager = NDManager.newBaseManager();
    Map<String, HostTensor> w = StateDict.load(Golden.tacoSmallWeights());
    eb = EntropyBottleneck.load(32, StateDict.withPrefix(w, "entropy_bottleneck."), manager);
    eb.update();
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  @Test
  void zStringsLikelihoodsAndDecodeMatchBothImages() {
    for (String name : new String[] {"img0_64x64", "img1_128x192"}) {
      Map<String, HostTensor> t = Golden.tensors("taco-small/" + name + ".safetensors");
      try (NDManager m = manager.newSubManager()) {
        NDArray z = t.get("z").toNDArray(m);
        NDList out = eb.forward(z, Quantization.DEQUANTIZE);
        assertArrayEquals(t.get("forward.z_hat").toFloatArray(), out.get(0).toFloatArray(), name);
        assertArrayEquals(t.get("forward.z_hat").toFloatArray(), eb.quantize(z, Quantization.STE).toFloatArray());
        GaussianConditionalTest.assertRelClose(
            t.get("forward.z_likelihoods").toFloatArray(), out.get(1).toFloatArray(), 1e-5);
        byte[][] s = eb.compress(z);
        assertArrayEquals(t.get("compress.z_string").toByteArray(), s[0], name);
        long[] shape = t.get("compress.shape").toLongArray();
        assertArrayEquals(
            t.get("decompress.z_hat").toFloatArray(), eb.decompress(s, (int) shape[0], (int) shape[1], m).toFloatArray(), name);
      }
    }
  }

  @Test
  void yStringFromRecordedSymbolsAndScales() {
    GaussianConditional gc = new GaussianConditional();
    for (String name : new String[] {"img0_64x64", "img1_128x192"}) {
      Map<String, HostTensor> t = Golden.tensors("taco-small/" + name + ".safetensors");
      int[] indexes = gc.buildIndexes(t.get("compress.y_scales_seq").toFloatArray());
      assertArrayEquals(t.get("compress.y_indexes").toIntArray(), indexes, name);
      int[] symbols = t.get("compress.y_symbols").toIntArray();
      byte[] y = RansEncoder.encode(symbols, indexes, gc.cdfTables());
      assertArrayEquals(t.get("compress.y_string").toByteArray(), y, name);
    }
  }

  /** Gradients of the golden loss w.r.t. the EntropyBottleneck parameters (they only reach it through z's rate). */
  @Test
  void gradientsOfGoldenLossAndAuxLoss() {
    Map<String, HostTensor> g = Golden.tensors("taco-small/train_signal.safetensors");
    Map<String, HostTensor> img = Golden.tensors("taco-small/img0_64x64.safetensors");
    String[] names = {"_matrix0", "_bias1", "_factor2", "quantiles"};
    try (NDManager m = manager.newSubManager()) {
      Map<String, HostTensor> w = StateDict.load(Golden.tacoSmallWeights());
      EntropyBottleneck local = EntropyBottleneck.load(32, StateDict.withPrefix(w, "entropy_bottleneck."), m);
      for (NDArray p : local.parameters().values()) {
        p.setRequiresGradient(true);
      }
      NDArray z = img.get("z").toNDArray(m);
      double pixels = 64 * 64;
      try (GradientCollector c = Engine.getInstance().newGradientCollector()) {
        NDArray lik = local.forward(z, Quantization.DEQUANTIZE).get(1);
        c.backward(lik.log().sum().div(-Math.log(2) * pixels));
      }
      double worst = 0;
      for (String n : names) {
        worst = Math.max(worst, assertGradClose(g.get("grad.entropy_bottleneck." + n).toFloatArray(),
            local.parameters().get(n).getGradient().toFloatArray(), n));
      }
      for (NDArray p : local.parameters().values()) {
        p.getGradient().subi(p.getGradient());
      }
      NDArray q = local.parameters().get("quantiles");
      try (GradientCollector c = Engine.getInstance().newGradientCollector()) {
        NDArray aux = local.loss();
        float expected = g.get("aux_loss").toFloatArray()[0];
        assertEquals(expected, aux.getFloat(), 1e-6 * expected);
        c.backward(aux);
      }
      worst = Math.max(worst, assertGradClose(g.get("aux_grad.entropy_bottleneck.quantiles").toFloatArray(),
          q.getGradient().toFloatArray(), "aux quantiles"));
      System.out.println("EntropyBottleneck gradient worst relative error: " + worst);
    }
  }

  /** Element-wise relative error, with an absolute floor of 1e-6 of the tensor's largest magnitude. */
  private static double assertGradClose(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length);
    double max = 0;
    for (float e : expected) {
      max = Math.max(max, Math.abs(e));
    }
    assertTrue(max > 0, what + " has a non-zero reference gradient");
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      double err = Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), 1e-6 * max);
      worst = Math.max(worst, err);
      assertTrue(err <= 1e-4, what + "[" + i + "]: expected " + expected[i] + " got " + actual[i]);
    }
    return worst;
  }
}
