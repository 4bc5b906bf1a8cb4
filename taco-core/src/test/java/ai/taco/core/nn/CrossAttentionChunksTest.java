package ai.taco.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link CrossAttention} with its keys and values taken in chunks (the two-pass softmax the tiled Extractor uses)
 * against multi-head attention computed here in double precision from the same parameters, and against the whole
 * call: the same values within float32 rounding, for chunk sizes that do and do not divide the tokens (down to one
 * token a chunk), with scores of order one and spread over tens (each chunk's maximum far below the global one).
 */
class CrossAttentionChunksTest {
  private static final int DIM = 16;
  private static final int HEADS = 4;
  private static final int QUERIES = 5;
  private static final int TOKENS = 203;
  /**
   * Float32 attention outputs of magnitude ~1 carry ~1e-7 relative rounding per operation; a few hundred terms and
   * three matrix products stay below this (a wrong softmax normalisation is off by whole percents).
   */
  private static final double TOL = 2e-5;
  /** Query scale giving scores spread over tens: a nearly one-hot softmax whose chunk maxima differ by tens. */
  private static final double WIDE = 12;

  @Test
  void chunkedAttentionEqualsDoublePrecisionAttention() {
    for (double scale : new double[] {1, WIDE}) {
      try (NDManager m = NDManager.newBaseManager();
          NDScope scope = new NDScope()) {
        NamedParameters p = new NamedParameters();
        Random r = new Random(5);
        CrossAttention attention = attention(m, p, 11, r);
        float[] query = gaussian(r, QUERIES * DIM, scale);
        float[] keyValue = gaussian(r, TOKENS * DIM, 1);
        NDArray q = m.create(query, new Shape(1, QUERIES, DIM));
        NDArray kv = m.create(keyValue, new Shape(1, TOKENS, DIM));
        double[] want = reference(p, query, keyValue);
        float[] whole = attention.forward(q, kv).toFloatArray();
        assertClose(want, whole, "whole, scale " + scale);
        for (int chunk : new int[] {TOKENS, 64, 50, 7, 1}) {
          int chunks = (TOKENS + chunk - 1) / chunk;
          int size = chunk;
          float[] got = attention.forward(q, chunks,
              c -> kv.get(":, " + c * size + ":" + Math.min(TOKENS, (c + 1) * size) + ", :")).toFloatArray();
          assertClose(want, got, "chunks of " + chunk + ", scale " + scale);
          if (chunks == 1) {
            assertArrayEquals(whole, got, "one chunk: the whole call's operations");
          }
        }
      }
    }
  }

  /**
   * The folded form the Injector uses under reduced precision (keys and values folded into two dense weights) against
   * the double-precision attention times a per-channel gamma, for a batch of two: in float32 within float32 rounding;
   * in bfloat16 within bfloat16 rounding and not float32-exact (so bfloat16 ran).
   */
  @Test
  void foldedAttentionEqualsAttentionTimesGamma() {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NamedParameters p = new NamedParameters();
      Random r = new Random(6);
      CrossAttention attention = attention(m, p, 12, r);
      float[] gamma = gaussian(r, DIM, 1);
      float[][] query = {gaussian(r, QUERIES * DIM, WIDE / 4), gaussian(r, QUERIES * DIM, WIDE / 4)};
      float[][] keyValue = {gaussian(r, TOKENS * DIM, 1), gaussian(r, TOKENS * DIM, 1)};
      double[] want = new double[2 * QUERIES * DIM];
      for (int b = 0; b < 2; b++) {
        double[] one = reference(p, query[b], keyValue[b]);
        for (int i = 0; i < one.length; i++) {
          want[b * one.length + i] = one[i] * gamma[i % DIM];
        }
      }
      NDArray q = m.create(concat(query), new Shape(2, QUERIES, DIM));
      NDArray kv = m.create(concat(keyValue), new Shape(2, TOKENS, DIM));
      NDArray g = m.create(gamma);
      float[] fp32 = attention.foldedForward(q, kv, g).toFloatArray();
      assertClose(want, fp32, "folded, float32");
      float[] bf16;
      try (ReducedPrecision.Scope s = ReducedPrecision.request(ai.taco.core.tensor.Precision.BF16)) {
        bf16 = ReducedPrecision.transform(() -> attention.foldedForward(q, kv, g)).toFloatArray();
      }
      double scale = 0;
      double err = 0;
      for (int i = 0; i < want.length; i++) {
        scale = Math.max(scale, Math.abs(want[i]));
        err = Math.max(err, Math.abs(want[i] - bf16[i]));
      }
      // bfloat16's 8 significant bits through two products and a softmax: a few 2^-8 of the largest output.
      assertTrue(err <= scale / 32, "folded, bfloat16: max|err| " + err + " (max|out| " + scale + ")");
      assertTrue(err > 1e-5 * scale, "folded, bfloat16: float32-exact (" + err + "), so bfloat16 did not run");
    }
  }

  /**
   * The folded form the Extractor uses under reduced precision (keys and values folded into the queries, the
   * softmax-invariant score bias dropped, the value bias added after the weighted sum), whole and in chunks: in float32
   * within float32 rounding of the double-precision attention, with scores of order one and spread over tens; in
   * bfloat16 within bfloat16 rounding and not float32-exact (so bfloat16 ran).
   */
  @Test
  void foldedChunkedAttentionEqualsDoublePrecisionAttention() {
    for (double scale : new double[] {1, WIDE}) {
      try (NDManager m = NDManager.newBaseManager();
          NDScope scope = new NDScope()) {
        NamedParameters p = new NamedParameters();
        Random r = new Random(7);
        CrossAttention attention = attention(m, p, 13, r);
        float[] query = gaussian(r, QUERIES * DIM, scale);
        float[] keyValue = gaussian(r, TOKENS * DIM, 1);
        NDArray q = m.create(query, new Shape(1, QUERIES, DIM));
        NDArray kv = m.create(keyValue, new Shape(1, TOKENS, DIM));
        double[] want = reference(p, query, keyValue);
        for (int chunk : new int[] {TOKENS, 64, 7, 1}) {
          int chunks = (TOKENS + chunk - 1) / chunk;
          int size = chunk;
          java.util.function.IntFunction<NDArray> part =
              c -> kv.get(":, " + c * size + ":" + Math.min(TOKENS, (c + 1) * size) + ", :");
          assertClose(want, attention.forward(q, chunks, part, true).toFloatArray(),
              "folded, chunks of " + chunk + ", scale " + scale);
          float[] bf16;
          try (ReducedPrecision.Scope s = ReducedPrecision.request(ai.taco.core.tensor.Precision.BF16)) {
            bf16 = ReducedPrecision.transform(() -> attention.forward(q, chunks, part)).toFloatArray();
          }
          double top = 0;
          double err = 0;
          for (int i = 0; i < want.length; i++) {
            top = Math.max(top, Math.abs(want[i]));
            err = Math.max(err, Math.abs(want[i] - bf16[i]));
          }
          assertTrue(err <= top / 32, "folded, bfloat16, chunks of " + chunk + ": max|err| " + err + " (max|out| "
              + top + ")");
          assertTrue(err > 1e-5 * top, "folded, bfloat16: float32-exact (" + err + "), so bfloat16 did not run");
        }
      }
    }
  }

  /**
   * An attention "a" declared in {@code p}, initialised with {@code seed}, then given non-zero biases from {@code r}
   * (the initialisation zeroes them), so that their rows of the packed projection count too.
   */
  private static CrossAttention attention(NDManager m, NamedParameters p, long seed, Random r) {
    CrossAttention attention = new CrossAttention(p, "a", DIM, HEADS);
    p.initialize(m, seed);
    p.put("a.in_proj_bias", m.create(gaussian(r, 3 * DIM, 0.5)));
    p.put("a.out_proj.bias", m.create(gaussian(r, DIM, 0.5)));
    return attention;
  }

  private static float[] concat(float[][] parts) {
    float[] out = new float[parts[0].length * parts.length];
    for (int i = 0; i < parts.length; i++) {
      System.arraycopy(parts[i], 0, out, i * parts[0].length, parts[0].length);
    }
    return out;
  }

  private static float[] gaussian(Random r, int n, double scale) {
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = (float) (scale * r.nextGaussian());
    }
    return out;
  }

  private static void assertClose(double[] want, float[] got, String what) {
    double scale = 0;
    double err = 0;
    for (int i = 0; i < want.length; i++) {
      scale = Math.max(scale, Math.abs(want[i]));
      err = Math.max(err, Math.abs(want[i] - got[i]));
    }
    assertTrue(err <= TOL * Math.max(1, scale), what + ": max|err| " + err + " (max|out| " + scale + ")");
  }

  /** nn.MultiheadAttention's forward (packed in-projection, per-head softmax(q·kᵀ/√d)·v, out-projection) in double. */
  private static double[] reference(NamedParameters p, float[] query, float[] keyValue) {
    float[] inW = p.get("a.in_proj_weight").toFloatArray();
    float[] inB = p.get("a.in_proj_bias").toFloatArray();
    float[] outW = p.get("a.out_proj.weight").toFloatArray();
    float[] outB = p.get("a.out_proj.bias").toFloatArray();
    double[][] q = linear(query, QUERIES, inW, inB, 0);
    double[][] k = linear(keyValue, TOKENS, inW, inB, DIM);
    double[][] v = linear(keyValue, TOKENS, inW, inB, 2 * DIM);
    int hd = DIM / HEADS;
    double[][] o = new double[QUERIES][DIM];
    for (int h = 0; h < HEADS; h++) {
      for (int i = 0; i < QUERIES; i++) {
        double[] s = new double[TOKENS];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < TOKENS; j++) {
          for (int d = 0; d < hd; d++) {
            s[j] += q[i][h * hd + d] * k[j][h * hd + d];
          }
          s[j] /= Math.sqrt(hd);
          max = Math.max(max, s[j]);
        }
        double sum = 0;
        for (int j = 0; j < TOKENS; j++) {
          s[j] = Math.exp(s[j] - max);
          sum += s[j];
        }
        for (int j = 0; j < TOKENS; j++) {
          for (int d = 0; d < hd; d++) {
            o[i][h * hd + d] += s[j] / sum * v[j][h * hd + d];
          }
        }
      }
    }
    double[] out = new double[QUERIES * DIM];
    for (int i = 0; i < QUERIES; i++) {
      for (int e = 0; e < DIM; e++) {
        double a = outB[e];
        for (int d = 0; d < DIM; d++) {
          a += outW[e * DIM + d] * o[i][d];
        }
        out[i * DIM + e] = a;
      }
    }
    return out;
  }

  /** Rows {@code [offset, offset + DIM)} of the packed projection applied to {@code n} tokens. */
  private static double[][] linear(float[] x, int n, float[] w, float[] b, int offset) {
    double[][] out = new double[n][DIM];
    for (int t = 0; t < n; t++) {
      for (int e = 0; e < DIM; e++) {
        double a = b[offset + e];
        for (int d = 0; d < DIM; d++) {
          a += w[(offset + e) * DIM + d] * x[t * DIM + d];
        }
        out[t][e] = a;
      }
    }
    return out;
  }
}
