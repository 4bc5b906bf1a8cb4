package ai.taco.core.latent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.taco.core.error.WeightsException;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.core.weights.StateDict;
import ai.taco.entropy.CdfTables;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Parity with CompressAI 1.2.6 EntropyBottleneck ({@code golden/entropy/entropy_bottleneck.safetensors}). */
class EntropyBottleneckTest {
  private static NDManager manager;
  private static Map<String, HostTensor> g;
  private static EntropyBottleneck eb;

  @BeforeAll
  static void setUp() {
    manager = NDManager.newBaseManager();
    g = Golden.tensors("entropy/entropy_bottleneck.safetensors");
    eb = EntropyBottleneck.load(32, StateDict.withPrefix(g, "state."), manager);
    eb.update();
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  private static float[] f(String k) {
    return g.get(k).toFloatArray();
  }

  private static NDArray nd(NDManager m, String k) {
    return g.get(k).toNDArray(m);
  }

  @Test
  void tablesEqualReference() {
    assertTablesEqual(g.get("state._quantized_cdf"), g.get("state._cdf_length"), g.get("state._offset"), eb.tables());
  }

  /** Tables computed from the taco-small weights equal the official update()'s (updated_buffers.safetensors). */
  @Test
  void tacoSmallTablesEqualReference() {
    Map<String, HostTensor> w = StateDict.load(Golden.tacoSmallWeights());
    Map<String, HostTensor> u = Golden.tensors("taco-small/updated_buffers.safetensors");
    try (NDManager m = manager.newSubManager()) {
      EntropyBottleneck small = EntropyBottleneck.load(32, StateDict.withPrefix(w, "entropy_bottleneck."), m);
      small.update();
      assertTablesEqual(
          u.get("entropy_bottleneck._quantized_cdf"),
          u.get("entropy_bottleneck._cdf_length"),
          u.get("entropy_bottleneck._offset"),
          small.tables());
    }
    assertArrayEquals(u.get("entropy_bottleneck.target").toFloatArray(), f("state.target"));
  }

  private static void assertTablesEqual(HostTensor cdf, HostTensor lengths, HostTensor offsets, CdfTables t) {
    int[] len = lengths.toIntArray();
    int[] off = offsets.toIntArray();
    int[] flat = cdf.toIntArray();
    int width = (int) cdf.shape()[1];
    assertEquals(len.length, t.size());
    for (int c = 0; c < len.length; c++) {
      assertEquals(off[c], t.offset(c), "offset " + c);
      assertEquals(len[c], t.cdfLength(c), "cdf length " + c);
      assertArrayEquals(Arrays.copyOfRange(flat, c * width, c * width + len[c]), t.cdf(c), "cdf row " + c);
    }
  }

  @Test
  void forwardEvalMatches() {
    try (NDManager m = manager.newSubManager()) {
      NDList out = eb.forward(nd(m, "z"), Quantization.DEQUANTIZE);
      assertArrayEquals(f("z_hat"), out.get(0).toFloatArray());
      double w1 = GaussianConditionalTest.assertRelClose(f("z_likelihoods"), out.get(1).toFloatArray(), 1e-5);
      NDList out2 = eb.forward(nd(m, "z2"), Quantization.DEQUANTIZE);
      assertArrayEquals(f("z2_hat"), out2.get(0).toFloatArray());
      double w2 = GaussianConditionalTest.assertRelClose(f("z2_likelihoods"), out2.get(1).toFloatArray(), 1e-5);
      System.out.println("EntropyBottleneck likelihood worst relative error: " + Math.max(w1, w2));
      assertArrayEquals(f("medians"), eb.medians().toFloatArray());
      assertArrayEquals(f("z_hat"), eb.quantize(nd(m, "z"), Quantization.DEQUANTIZE).toFloatArray());
    }
  }

  @Test
  void auxLossMatches() {
    try (ai.djl.ndarray.NDScope scope = new ai.djl.ndarray.NDScope()) {
      scope.suppressNotUsedWarning();
      float loss = eb.loss().toFloatArray()[0];
      float expected = f("aux_loss")[0];
      assertEquals(expected, loss, 1e-6 * Math.abs(expected));
    }
  }

  @Test
  void compressIsByteIdenticalAndDecompresses() {
    try (NDManager m = manager.newSubManager()) {
      byte[][] s = eb.compress(nd(m, "z"));
      assertEquals(1, s.length);
      assertArrayEquals(g.get("string0").toByteArray(), s[0]);
      assertArrayEquals(f("decompressed"), eb.decompress(s, 4, 6, m).toFloatArray());
      byte[][] s2 = eb.compress(nd(m, "z2"));
      assertArrayEquals(g.get("z2_string0").toByteArray(), s2[0]);
      assertArrayEquals(g.get("z2_string1").toByteArray(), s2[1]);
      NDArray d2 = eb.decompress(s2, 3, 5, m);
      assertEquals(new Shape(2, 32, 3, 5), d2.getShape());
      assertArrayEquals(f("z2_decompressed"), d2.toFloatArray());
    }
  }

  /** compress/decompress from several threads at once give the reference bytes and values every time. */
  @Test
  void concurrentCodingIsConsistent() throws Exception {
    byte[] expected = g.get("z2_string1").toByteArray();
    float[] expectedZ = f("z2_decompressed");
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
    try {
      java.util.List<java.util.concurrent.Future<Boolean>> results = new java.util.ArrayList<>();
      for (int t = 0; t < 4; t++) {
        results.add(pool.submit(() -> {
          boolean ok = true;
          for (int i = 0; i < 10; i++) {
            try (NDManager m = manager.newSubManager()) {
              byte[][] s = eb.compress(nd(m, "z2"));
              ok &= Arrays.equals(expected, s[1]);
              ok &= Arrays.equals(expectedZ, eb.decompress(s, 3, 5, m).toFloatArray());
            }
          }
          return ok;
        }));
      }
      for (java.util.concurrent.Future<Boolean> r : results) {
        assertTrue(r.get());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void symbolsMatchReference() {
    float[] z = f("z");
    float[] med = eb.medianValues();
    int[] expected = g.get("compress_symbols").toIntArray();
    for (int i = 0; i < z.length; i++) {
      assertEquals(expected[i], (int) Math.rint(z[i] - med[i / 24]), "symbol " + i);
    }
  }

  /**
   * Main-loss gradient in eval mode: quantiles receive d/dm through round(z - m) + m; with training noise the
   * likelihood is evaluated at z + u. Checks the gradient of -Σ log p w.r.t. z's likelihood path is finite and that
   * the aux loss gradient reaches only the quantiles.
   */
  @Test
  void auxLossGradientReachesOnlyQuantiles() {
    try (NDManager m = manager.newSubManager()) {
      Map<String, NDArray> params = new LinkedHashMap<>();
      g.forEach((k, v) -> {
        if (k.startsWith("state.")) {
          params.put(k, v.toNDArray(m));
        }
      });
      Map<String, HostTensor> w = new LinkedHashMap<>();
      params.forEach((k, v) -> w.put(k.substring(6), HostTensor.fromNDArray(v)));
      EntropyBottleneck local = EntropyBottleneck.load(32, w, m);
      NDArray q = local.parameters().get("quantiles");
      NDArray b0 = local.parameters().get("_bias0");
      q.setRequiresGradient(true);
      b0.setRequiresGradient(true);
      try (GradientCollector c = Engine.getInstance().newGradientCollector()) {
        c.backward(local.loss());
      }
      float[] gq = q.getGradient().toFloatArray();
      assertTrue(Arrays.stream(toDouble(gq)).anyMatch(v -> v != 0));
      assertTrue(Arrays.stream(toDouble(b0.getGradient().toFloatArray())).allMatch(v -> v == 0));
      // d|l - t|/dq = sign(l - t) * dl/dq with dl/dq > 0 (monotone CDF): every entry is non-zero.
      assertTrue(Arrays.stream(toDouble(gq)).allMatch(v -> v != 0));
    }
  }

  private static double[] toDouble(float[] a) {
    double[] d = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      d[i] = a[i];
    }
    return d;
  }

  /** stateDict() has the official keys, order, shapes and values (the reference's state.* after update()). */
  @Test
  void stateDictMatchesOfficialStateDict() {
    Map<String, HostTensor> sd = eb.stateDict();
    Map<String, HostTensor> ref = StateDict.withPrefix(g, "state.");
    assertEquals(java.util.List.copyOf(ref.keySet()), java.util.List.copyOf(sd.keySet()));
    for (String k : ref.keySet()) {
      assertArrayEquals(ref.get(k).shape(), sd.get(k).shape(), k);
      assertEquals(ref.get(k).dataType(), sd.get(k).dataType(), k);
      assertEquals(ref.get(k).data(), sd.get(k).data(), k);
    }
  }

  /** A fresh model has CompressAI's initial values; its tables cover the initial quantile range [-10, 10]. */
  @Test
  void createInitialisesLikeCompressAi() {
    try (NDManager m = manager.newSubManager()) {
      EntropyBottleneck fresh = EntropyBottleneck.create(8, m, 7);
      float[] m0 = fresh.parameters().get("_matrix0").toFloatArray();
      float[] m1 = fresh.parameters().get("_matrix1").toFloatArray();
      double scale = Math.pow(10, 0.2);
      assertEquals((float) Math.log(Math.expm1(1 / scale / 3)), m0[0]);
      assertEquals((float) Math.log(Math.expm1(1 / scale / 3)), m1[5]);
      assertEquals((float) Math.log(Math.expm1(1 / scale)),
          fresh.parameters().get("_matrix4").toFloatArray()[2]);
      for (float b : fresh.parameters().get("_bias2").toFloatArray()) {
        assertTrue(b >= -0.5f && b <= 0.5f);
      }
      assertArrayEquals(new float[8 * 3], fresh.parameters().get("_factor3").toFloatArray());
      assertArrayEquals(new float[] {-10f, 0f, 10f}, Arrays.copyOf(fresh.parameters().get("quantiles").toFloatArray(), 3));
      assertEquals(0, fresh.stateDict().get("_offset").numel());
      fresh.update();
      assertEquals(-10, fresh.tables().offset(0));
      assertEquals(23, fresh.tables().cdfLength(0));
      assertEquals(EntropyBottleneck.shapes(8).keySet(), fresh.parameters().keySet());
    }
  }

  @Test
  void rejectsMisshapedWeights() {
    Map<String, HostTensor> w = new LinkedHashMap<>(StateDict.withPrefix(g, "state."));
    w.remove("_factor2");
    w.put("_bias4", HostTensor.ofFloats(new float[3], 3, 1, 1));
    WeightsException e = assertThrows(WeightsException.class, () -> EntropyBottleneck.load(32, w, manager));
    assertTrue(e.getMessage().contains("_factor2"), e.getMessage());
    assertTrue(e.getMessage().contains("_bias4"), e.getMessage());
  }
}
