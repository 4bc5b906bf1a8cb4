package ai.taco.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.training.GradientCollector;
import ai.taco.core.tensor.Precision;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The fused bfloat16 convolutions ({@link OneDnn}) against their definitions computed in float32 on the same
 * bfloat16 operands: each output is the bfloat16 rounding of the float32 result (half a unit in the last of its 8
 * significant bits, plus float32 summation-order noise); a residual sum lands in the consumed map and never in one
 * the caller still reads; autograd and unfrozen parameters keep the unfused operations.
 */
class OneDnnTest {
  /** Half a bfloat16 unit in the last place, relative: the output's own rounding. */
  private static final double BF16_HALF_ULP = 1.0 / 256;

  /**
   * A whole block against its float32 definition, relative to its largest output: the unfused route rounds the last
   * convolution's output and then the sum (two roundings), and a rounding of an intermediate may land on the other
   * side of a tie; four half units leave a 2x margin.
   */
  private static final double BLOCK_BOUND = 4 * BF16_HALF_ULP;

  /** float32 accumulation in another order, relative to the largest output. */
  private static final double FP32_ORDER_NOISE = 1e-5;

  private static <T> T bf16(Supplier<T> body) {
    try (ReducedPrecision.Scope s = ReducedPrecision.request(Precision.BF16)) {
      return ReducedPrecision.transform(body);
    }
  }

  /** x rounded to bfloat16, as float32 (the exact operand the fused kernel reads). */
  private static NDArray rounded(NDArray x) {
    float[] v = x.toFloatArray();
    for (int i = 0; i < v.length; i++) {
      v[i] = ReducedPrecisionTest.bf16(v[i]);
    }
    return x.getManager().create(v, x.getShape());
  }

  /** Every element of {@code got} is {@code want} rounded to bfloat16, up to float32 ordering noise. */
  private static void assertBf16RoundingOf(NDArray want, NDArray got, String what) {
    float[] w = want.toFloatArray();
    float[] g = got.toFloatArray();
    assertEquals(w.length, g.length, what);
    double max = 0;
    for (float v : w) {
      max = Math.max(max, Math.abs(v));
    }
    double worst = 0;
    for (int i = 0; i < w.length; i++) {
      double excess = Math.abs(g[i] - w[i]) - (Math.abs(w[i]) * BF16_HALF_ULP + max * FP32_ORDER_NOISE);
      worst = Math.max(worst, excess);
      assertTrue(excess <= 0, what + ": element " + i + " is " + g[i] + ", want " + w[i]);
    }
    assertTrue(worst <= 0);
  }

  private static NDArray conv(NDArray x, NDArray w, NDArray b, int padding) {
    return Conv2d.conv2d(x, w, b, new Shape(1, 1), new Shape(padding, padding), new Shape(1, 1), 1)
        .singletonOrThrow();
  }

  @Test
  void fusedConvolutionAndActivationIsTheBf16RoundingOfItsDefinition() {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      Engine.getInstance().setRandomSeed(3);
      NamedParameters params = new NamedParameters();
      // 40 outputs (not a multiple of 16) and a 3×3 kernel: the shapes where libtorch's NCHW bf16 convolution erred.
      Conv c3 = new Conv(params, "c3", 24, 40, 3, 1);
      Conv c1 = new Conv(params, "c1", 40, 24, 1, 1);
      params.initialize(m, 5);
      params.freeze();
      NDArray x = m.randomNormal(0, 2, new Shape(1, 24, 9, 11), DataType.FLOAT32);
      NDArray[] got = bf16(() -> {
        NDArray xr = ReducedPrecision.toReduced(x);
        assertTrue(OneDnn.usable(xr, 24, params), "bf16 inference on frozen parameters takes the fused path");
        NDArray h = c3.forward(xr, OneDnn.Post.RELU);
        NDArray s = c1.forward(h, OneDnn.Post.SIGMOID);
        assertTrue(ReducedPrecision.isReduced(h) && ReducedPrecision.isReduced(s), "outputs stay bfloat16");
        return new NDArray[] {ReducedPrecision.float32(xr), ReducedPrecision.float32(h), ReducedPrecision.float32(s)};
      });
      NDArray wantH = conv(got[0], rounded(params.get("c3.weight")), params.get("c3.bias"), 1).maximum(0f);
      assertBf16RoundingOf(wantH, got[1], "relu(conv3x3)");
      boolean rectified = false;
      for (float v : wantH.toFloatArray()) {
        rectified |= v == 0f;
      }
      assertTrue(rectified, "the ReLU clipped something");
      NDArray wantS = Activation.sigmoid(conv(got[1], rounded(params.get("c1.weight")), params.get("c1.bias"), 0));
      assertBf16RoundingOf(wantS, got[2], "sigmoid(conv1x1)");
    }
  }

  @Test
  void residualSumGoesIntoTheInputOnlyWhenItIsConsumed() {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      Engine.getInstance().setRandomSeed(4);
      NamedParameters params = new NamedParameters();
      ResidualBottleneck block = new ResidualBottleneck(params, "rb", 32);
      params.initialize(m, 6);
      params.freeze();
      NDArray x = m.randomNormal(0, 1, new Shape(1, 32, 10, 12), DataType.FLOAT32);
      NDArray[] out = bf16(() -> {
        NDArray xr = ReducedPrecision.toReduced(x);
        float[] before = ReducedPrecision.float32(xr).toFloatArray();
        NDArray kept = ReducedPrecision.float32(block.forward(xr));
        assertArrayEquals(before, ReducedPrecision.float32(xr).toFloatArray(), 0f,
            "forward leaves the caller's map alone");
        NDArray alias = xr.transpose(0, 1, 2, 3); // a view: sees xr's memory after xr itself is consumed
        NDArray consumed = ReducedPrecision.float32(block.forwardConsuming(xr));
        float[] after = ReducedPrecision.float32(alias).toFloatArray();
        assertFalse(java.util.Arrays.equals(before, after), "the consumed map's memory took the sum");
        assertArrayEquals(consumed.toFloatArray(), after, 0f, "the result is that memory");
        return new NDArray[] {m.create(before, x.getShape()), kept, consumed};
      });
      // The block's definition in float32 on the same bfloat16 input, the branch's maps rounded as the stream rounds
      // them: both routes within BLOCK_BOUND of it.
      NDArray xr = out[0];
      NDArray b = conv(xr, rounded(params.get("rb.branch.0.weight")), params.get("rb.branch.0.bias"), 0).maximum(0f);
      NDArray c = conv(rounded(b), rounded(params.get("rb.branch.2.weight")), params.get("rb.branch.2.bias"), 1)
          .maximum(0f);
      NDArray want = xr.add(conv(rounded(c), rounded(params.get("rb.branch.4.weight")), params.get("rb.branch.4.bias"),
          0));
      double scale = want.abs().max().getFloat();
      for (int k = 1; k <= 2; k++) {
        double err = out[k].sub(want).abs().max().getFloat() / scale;
        assertTrue(err <= BLOCK_BOUND, (k == 1 ? "unfused" : "fused") + " route: relative error " + err);
      }
    }
  }

  @Test
  void autogradOrUnfrozenParametersKeepTheUnfusedOperations() {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NamedParameters frozen = new NamedParameters();
      Conv c = new Conv(frozen, "c", 16, 16, 1, 1);
      frozen.initialize(m, 7);
      frozen.freeze();
      NamedParameters training = new NamedParameters();
      Conv t = new Conv(training, "c", 16, 16, 1, 1);
      training.initialize(m, 7);
      NDArray x = m.randomNormal(new Shape(1, 16, 4, 4));
      bf16(() -> {
        NDArray xr = ReducedPrecision.toReduced(x);
        NDArray acc = ReducedPrecision.toReduced(m.randomNormal(new Shape(1, 16, 4, 4)));
        assertFalse(OneDnn.usable(xr, 16, training), "parameters still training");
        assertNull(t.addInto(xr, acc, OneDnn.Post.NONE), "no fused sum with unfrozen parameters");
        assertFalse(OneDnn.usable(x, 16, frozen), "a float32 map is not in the reduced stream");
        try (GradientCollector g = Engine.getInstance().newGradientCollector()) {
          assertFalse(OneDnn.usable(xr, 16, frozen), "autograd is recording");
          assertNull(c.addInto(xr, acc, OneDnn.Post.NONE), "no fused sum while autograd records");
        }
        NDArray sum = c.addInto(xr, acc, OneDnn.Post.NONE);
        assertNotNull(sum, "fused once autograd is off again");
        return sum;
      });
      assertFalse(OneDnn.usable(ReducedPrecision.float32(x), 16, frozen), "float32 in effect outside bf16 calls");
    }
  }

  @Test
  void aRefusedCallFallsBackAndLaterCallsStillFuse() {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NamedParameters params = new NamedParameters();
      Conv c = new Conv(params, "c", 16, 16, 3, 1);
      params.initialize(m, 8);
      params.freeze();
      NDArray x = m.randomNormal(new Shape(1, 16, 5, 5));
      NDArray wrong = m.randomNormal(new Shape(16, 8, 3, 3)); // 8 input channels for a 16-channel map
      bf16(() -> {
        NDArray xr = ReducedPrecision.toReduced(x);
        // libtorch throws inside (its message goes to stderr); its C interface turns that into an error code.
        assertNull(OneDnn.conv(xr, OneDnn.bfloat16(wrong, m), null, new long[] {1, 1}, new long[] {1, 1},
            OneDnn.Post.RELU), "a refused call gives null, not a dead JVM");
        assertTrue(OneDnn.usable(xr, 16, params), "one refusal does not switch the fused path off");
        NDArray y = c.forward(xr, OneDnn.Post.RELU);
        assertTrue(ReducedPrecision.isReduced(y), "the next convolution still runs (fused, bfloat16 out)");
        return y;
      });
    }
  }

  @Test
  void aNewOneByOneShapeIsTrustedOnlyAfterAgreeingWithTheProduct() {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NamedParameters params = new NamedParameters();
      Conv c = new Conv(params, "c", 48, 80, 1, 1); // 80 outputs: a width whose float32 oneDNN kernel erred here
      params.initialize(m, 9);
      params.freeze();
      NDArray x = m.randomNormal(new Shape(1, 48, 13, 7));
      List<Long> key = List.of(48L, 80L, 1L, 13L, 7L, (long) ai.djl.pytorch.jni.JniUtils.getNumThreads());
      bf16(() -> {
        NDArray xr = ReducedPrecision.toReduced(x);
        NDArray y = c.forward(xr, OneDnn.Post.RELU);
        assertEquals(Boolean.TRUE, OneDnn.trustedPointwise(key), "checked once, then trusted: " + key);
        NDArray want = c.forward(xr, OneDnn.Post.NONE);
        // A result off by its own size (what the faulty kernels gave) is refused; one rounding apart is not.
        NDArray wrong = ReducedPrecision.toReduced(ReducedPrecision.float32(want).mul(1.5f));
        assertFalse(OneDnn.agrees(wrong, want), "a wrong result is refused");
        assertTrue(OneDnn.agrees(ReducedPrecision.toReduced(ReducedPrecision.float32(want)
            .add(ReducedPrecision.float32(want).abs().max().mul(1.0 / 256))), want), "a rounding apart is accepted");
        OneDnn.recordPointwise(List.of(-1L), false);
        assertEquals(Boolean.FALSE, OneDnn.trustedPointwise(List.of(-1L)), "a refused shape stays unfused");
        return y;
      });
    }
  }

  /**
   * The products and the softmax of the bfloat16 text adapters: libtorch's addmm (a bias row broadcast, or a whole
   * matrix added) and softmax on bfloat16 operands give the bfloat16 rounding of their float32 definitions on the same
   * operands, stay bfloat16, and a call libtorch refuses (inner sizes that do not match) returns null instead of
   * ending the process.
   */
  @Test
  void productsAndSoftmaxAreTheBf16RoundingOfTheirDefinitions() {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      Engine.getInstance().setRandomSeed(11);
      NDArray a = OneDnn.bfloat16(m.randomNormal(new Shape(37, 40)), m);
      NDArray b = OneDnn.bfloat16(m.randomNormal(new Shape(40, 24)), m);
      NDArray row = OneDnn.bfloat16(m.randomNormal(0, 4, new Shape(24), DataType.FLOAT32), m);
      NDArray whole = OneDnn.bfloat16(m.randomNormal(0, 4, new Shape(37, 24), DataType.FLOAT32), m);
      NDArray scores = OneDnn.bfloat16(m.randomNormal(0, 4, new Shape(37, 5, 19), DataType.FLOAT32), m);
      NDArray[] got = bf16(() -> {
        assertTrue(OneDnn.usable(a), "bf16 inference on the CPU");
        NDArray withRow = OneDnn.addmm(row, a, b);
        NDArray withWhole = OneDnn.addmm(whole, a, b);
        NDArray p = OneDnn.softmax(scores, 2);
        for (NDArray r : new NDArray[] {withRow, withWhole, p}) {
          assertNotNull(r);
          assertTrue(ReducedPrecision.isReduced(r), "bfloat16 out");
        }
        assertNull(OneDnn.addmm(row, b, a), "[40,24]·[37,40]: refused, null");
        return new NDArray[] {ReducedPrecision.float32(withRow), ReducedPrecision.float32(withWhole),
            ReducedPrecision.float32(p)};
      });
      NDArray product = ReducedPrecision.float32(a).matMul(ReducedPrecision.float32(b));
      assertBf16RoundingOf(product.add(ReducedPrecision.float32(row)), got[0], "bias row + a·b");
      assertBf16RoundingOf(product.add(ReducedPrecision.float32(whole)), got[1], "matrix + a·b");
      assertBf16RoundingOf(ReducedPrecision.float32(scores).softmax(2), got[2], "softmax");
    }
  }

  /**
   * A frozen Dense layer on a map of the reduced stream in bfloat16 inference: one product with the bias inside, on
   * kept bfloat16 copies of its parameters; bfloat16 out, the rounding of its definition on those operands.
   */
  @Test
  void denseOnTheReducedStreamStaysBf16WithTheBiasInside() {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NamedParameters params = new NamedParameters();
      Dense d = new Dense(params, "d", 24, 40, null, null);
      params.initialize(m, 12);
      params.freeze();
      NDArray x = m.randomNormal(new Shape(1, 24, 3, 5));
      NDArray[] got = bf16(() -> {
        NDArray xr = ReducedPrecision.toReduced(x);
        NDArray y = d.forward(ChannelsLast.tokens(xr));
        assertTrue(ReducedPrecision.isReduced(y), "stays bfloat16");
        assertArrayEquals(new long[] {1, 15, 40}, y.getShape().getShape());
        return new NDArray[] {ReducedPrecision.float32(ChannelsLast.tokens(xr)), ReducedPrecision.float32(y)};
      });
      NDArray want = got[0].matMul(rounded(params.get("d.weight")).transpose()).add(rounded(params.get("d.bias")));
      assertBf16RoundingOf(want, got[1], "x·Wᵀ + b");
    }
  }

  /**
   * A 5×5/2 transposed convolution in bfloat16 inference: four phase convolutions on kept bfloat16 kernels written into
   * one output of the reduced stream (the next block reads it as it is); each output the bfloat16 rounding of the
   * float32 layer on the same bfloat16 operands.
   */
  @Test
  void upsamplingOutputStaysInTheStreamAsTheRoundingOfItsDefinition() {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NamedParameters params = new NamedParameters();
      TransposedConv up = TransposedConv.up(params, "u", 16, 32);
      params.initialize(m, 13);
      params.freeze();
      NamedParameters exact = new NamedParameters();
      TransposedConv upExact = TransposedConv.up(exact, "u", 16, 32);
      exact.initialize(m, 13);
      exact.put("u.weight", rounded(params.get("u.weight")));
      NDArray x = m.randomNormal(0, 2, new Shape(1, 16, 5, 6), DataType.FLOAT32);
      NDArray[] got = bf16(() -> {
        NDArray xr = ReducedPrecision.toReduced(x);
        NDArray y = up.forward(xr);
        assertTrue(ReducedPrecision.isReduced(y), "stays bfloat16");
        assertArrayEquals(new long[] {1, 32, 10, 12}, y.getShape().getShape());
        return new NDArray[] {ReducedPrecision.float32(xr), ReducedPrecision.float32(y)};
      });
      assertBf16RoundingOf(upExact.forward(got[0]), got[1], "deconv 5x5/2");
    }
  }
}
