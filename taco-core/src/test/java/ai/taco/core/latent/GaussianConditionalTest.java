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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.entropy.RansDecoder;
import ai.taco.entropy.RansEncoder;
import java.util.Map;

/** Parity with CompressAI 1.2.6 GaussianConditional ({@code golden/entropy/gaussian_conditional.safetensors}). */
class GaussianConditionalTest {
  private static final Shape SHAPE = new Shape(1, 8, 5, 7);
  private static NDManager manager;
  private static Map<String, HostTensor> g;
  private final GaussianConditional gc = new GaussianConditional();

  @BeforeAll
  static void setUp() {
    manager = NDManager.newBaseManager();
    g = Golden.tensors("entropy/gaussian_conditional.safetensors");
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  @Test
  void buildIndexesMatchesProbes() {
    assertArrayEquals(g.get("probe_indexes").toIntArray(), gc.buildIndexes(g.get("probe_scales").toFloatArray()));
    assertArrayEquals(g.get("indexes").toIntArray(), gc.buildIndexes(g.get("scales").toFloatArray()));
  }

  /**
   * CompressAI's rule (start from the last index, one less for every entry but the last that is >= max(scale, 0.11)),
   * written out here, against {@link GaussianConditional#buildIndexes} for both bundled tables: at every entry, the
   * floats just above and below it, 0, negatives, infinities, NaN and 20 000 log-uniform scales.
   */
  @Test
  void buildIndexesFollowsCompressAisRuleAtEveryBoundary() {
    for (String table : new String[] {"torch1", "torch2"}) {
      GaussianConditional c = new GaussianConditional(table);
      float[] t = c.scales();
      java.util.List<Float> probes = new java.util.ArrayList<>(java.util.List.of(0f, -0f, -1f, 1e-30f,
          Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, Float.MAX_VALUE, GaussianConditional.SCALE_BOUND));
      for (float e : t) {
        probes.add(e);
        probes.add(Math.nextUp(e));
        probes.add(Math.nextDown(e));
      }
      java.util.Random r = new java.util.Random(9);
      for (int i = 0; i < 20_000; i++) {
        probes.add((float) Math.exp(Math.log(0.01) + r.nextDouble() * Math.log(1e5)));
      }
      float[] scales = new float[probes.size()];
      for (int i = 0; i < scales.length; i++) {
        scales[i] = probes.get(i);
      }
      int[] got = c.buildIndexes(scales);
      for (int i = 0; i < scales.length; i++) {
        float v = Float.isNaN(scales[i]) ? scales[i] : Math.max(scales[i], GaussianConditional.SCALE_BOUND);
        int want = t.length - 1;
        for (int j = 0; j < t.length - 1; j++) {
          if (v <= t[j]) {
            want--;
          }
        }
        assertEquals(want, got[i], table + ": scale " + scales[i]);
      }
    }
  }

  @Test
  void symbolsAndDequantize() {
    int[] symbols = GaussianConditional.quantizeSymbols(g.get("y").toFloatArray(), g.get("means").toFloatArray());
    assertArrayEquals(g.get("symbols").toIntArray(), symbols);
    assertArrayEquals(g.get("decompressed").toFloatArray(), GaussianConditional.dequantize(symbols, g.get("means").toFloatArray()));
  }

  @Test
  void compressIsByteIdenticalAndDecompresses() {
    float[] y = g.get("y").toFloatArray();
    float[] means = g.get("means").toFloatArray();
    int[] indexes = gc.buildIndexes(g.get("scales").toFloatArray());
    // CompressAI compress(y, indexes, means) = rANS over quantizeSymbols with these tables; decompress the inverse.
    byte[] s = RansEncoder.encode(GaussianConditional.quantizeSymbols(y, means), indexes, gc.cdfTables());
    assertArrayEquals(g.get("string0").toByteArray(), s);
    assertArrayEquals(g.get("decompressed").toFloatArray(),
        GaussianConditional.dequantize(RansDecoder.decode(s, indexes, gc.cdfTables()), means));
  }

  @Test
  void forwardEvalMatchesYHatAndLikelihoods() {
    try (NDManager m = manager.newSubManager()) {
      NDArray y = m.create(g.get("y").toFloatArray(), SHAPE);
      NDArray scales = m.create(g.get("scales").toFloatArray(), SHAPE);
      NDArray means = m.create(g.get("means").toFloatArray(), SHAPE);
      NDList out = gc.forward(y, scales, means, Quantization.DEQUANTIZE);
      assertArrayEquals(g.get("y_hat").toFloatArray(), out.get(0).toFloatArray());
      double worst = assertRelClose(g.get("y_likelihoods").toFloatArray(), out.get(1).toFloatArray(), 1e-5);
      NDList noMean = gc.forward(y, scales, null, Quantization.DEQUANTIZE);
      assertArrayEquals(g.get("y_hat_nomean").toFloatArray(), noMean.get(0).toFloatArray());
      worst = Math.max(worst, assertRelClose(g.get("y_likelihoods_nomean").toFloatArray(), noMean.get(1).toFloatArray(), 1e-5));
      System.out.println("GaussianConditional likelihood worst relative error: " + worst);
      // STE has the same value as DEQUANTIZE here.
      assertArrayEquals(g.get("y_hat").toFloatArray(), GaussianConditional.quantize(y, Quantization.STE, means).toFloatArray());
    }
  }

  /**
   * Gradient of the rate -Σ log2 p w.r.t. values and scales against the analytic derivative of the Gaussian bin
   * probability (computed here in double), including CompressAI's LowerBound rule for scales below 0.11: the gradient
   * passes only where it is negative.
   */
  @Test
  void rateGradientFollowsLowerBoundRule() {
    float[] v = {0f, 1f, -2f, 0.3f, 3f, 0f, 1f, 2.5f, 0f, -1f};
    float[] s = {0.05f, 0.05f, 0.08f, 0.5f, 2f, 0.3f, 1e-3f, 0.11f, 5f, 0.7f};
    try (NDManager m = manager.newSubManager()) {
      NDArray values = m.create(v);
      NDArray scales = m.create(s);
      values.setRequiresGradient(true);
      scales.setRequiresGradient(true);
      try (GradientCollector c = Engine.getInstance().newGradientCollector()) {
        NDArray p = gc.likelihood(values, scales, null);
        c.backward(p.log().neg().sum());
      }
      float[] gv = values.getGradient().toFloatArray();
      float[] gs = scales.getGradient().toFloatArray();
      for (int i = 0; i < v.length; i++) {
        double sb = Math.max(s[i], 0.11f);
        double a = (0.5 - Math.abs(v[i])) / sb;
        double b = (-0.5 - Math.abs(v[i])) / sb;
        double p = phi(a) - phi(b);
        double dpds = (pdf(b) * b - pdf(a) * a) / sb;
        double dLds = -dpds / p;
        double expectedS = (s[i] >= 0.11f || dLds < 0) ? dLds : 0.0;
        double dpdAbsV = (-pdf(a) + pdf(b)) / sb;
        double expectedV = v[i] == 0f ? 0.0 : -dpdAbsV / p * Math.signum(v[i]);
        assertEquals(expectedS, gs[i], 1e-4 * Math.max(1, Math.abs(expectedS)), "d/ds at " + i);
        assertEquals(expectedV, gv[i], 1e-4 * Math.max(1, Math.abs(expectedV)), "d/dv at " + i);
      }
      // The probes cover both branches of the rule.
      assertEquals(0f, gs[0]);
      assertTrue(gs[1] < 0);
    }
  }

  private static double pdf(double x) {
    return Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
  }

  /** Standard normal CDF via a series/continued-fraction-free route: 0.5*erfc(-x/sqrt2) by numerical integration. */
  private static double phi(double x) {
    // Simpson integration of the pdf from -12 to x: independent of the code under test; ample accuracy here.
    double lo = -12;
    if (x <= lo) {
      return 0;
    }
    int n = 20000;
    double h = (x - lo) / n;
    double sum = pdf(lo) + pdf(x);
    for (int i = 1; i < n; i++) {
      sum += pdf(lo + i * h) * (i % 2 == 0 ? 2 : 4);
    }
    return sum * h / 3;
  }

  static double assertRelClose(float[] expected, float[] actual, double rel) {
    assertEquals(expected.length, actual.length);
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      double e = Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), 1e-30);
      worst = Math.max(worst, e);
      assertTrue(e <= rel, "element " + i + ": expected " + expected[i] + " got " + actual[i]);
    }
    return worst;
  }
}
