package ai.taco.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.training.GradientCollector;
import ai.taco.core.tensor.Precision;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The operations of {@link ReducedPrecision} against plain float32 DJL operations on the same data: float32 in and
 * out, bfloat16-sized errors (proof that bfloat16 ran), gradients kept, libtorch's autocast switched off again after
 * each operation.
 */
class ReducedPrecisionTest {
  /**
   * bfloat16 keeps 8 significant bits: inputs and weights are rounded to a relative 2^-9 each, so a sum of many such
   * products (accumulated in float32 by oneDNN) is off by about 2^-8 of the typical term magnitude in the worst case.
   * Relative to the largest output, 2^-6 leaves a 4x margin; float32 itself differs by ~1e-7.
   */
  private static final double BF16_RELATIVE_BOUND = 1.0 / 64;

  /** Below this the result would be float32 (relative differences of ~1e-7): bfloat16 did not run. */
  private static final double FP32_RELATIVE_NOISE = 1e-5;

  private static <T> T in(Precision p, Supplier<T> body) {
    try (ReducedPrecision.Scope s = ReducedPrecision.request(p)) {
      return ReducedPrecision.transform(body);
    }
  }

  private static double relativeError(NDArray got, NDArray want) {
    return got.sub(want).abs().max().getFloat() / want.abs().max().getFloat();
  }

  private static boolean autocastOn() {
    return ReducedPrecision.Native.get().state(ReducedPrecision.Native.DEVICE_CPU).enabled();
  }

  /** x rounded to bfloat16 (round to nearest, ties to even on the upper 16 bits), computed here in Java. */
  static float bf16(float x) {
    int bits = Float.floatToRawIntBits(x);
    int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
    return Float.intBitsToFloat(rounded & 0xFFFF0000);
  }

  @Test
  void residualStreamCastIsExactBf16RoundingAndLeavesFloat32Alone() {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      Engine.getInstance().setRandomSeed(11);
      // 24 channels (not a multiple of 16) and a contiguous NCHW input: the cast must still be exact.
      NDArray x = m.randomNormal(0, 3, new Shape(1, 24, 7, 9), DataType.FLOAT32);
      float[] in = x.toFloatArray();
      NDArray back = in(Precision.BF16, () -> {
        NDArray low = ReducedPrecision.toReduced(x);
        assertTrue(ReducedPrecision.isReduced(low), "the cast gives a reduced-precision map");
        assertTrue(ReducedPrecision.toReduced(low) == low, "a reduced map is not cast again");
        return ReducedPrecision.float32(low);
      });
      assertEquals(DataType.FLOAT32, back.getDataType());
      // toFloatArray reads in logical NCHW order whatever the strides: compare element by element.
      float[] got = back.toFloatArray();
      boolean changed = false;
      for (int i = 0; i < in.length; i++) {
        assertEquals(bf16(in[i]), got[i], 0f, "element " + i + " of " + in[i]);
        changed |= got[i] != in[i];
      }
      assertTrue(changed, "bfloat16 rounding changed some values (it ran)");
      assertFalse(autocastOn(), "autocast is off again after the cast");
      // Under float32, and for a map with fewer than 16 channels (the RGB image), the same array comes back.
      assertTrue(in(Precision.FP32, () -> ReducedPrecision.toReduced(x)) == x);
      NDArray rgb = m.randomNormal(new Shape(1, 3, 4, 4));
      assertTrue(in(Precision.BF16, () -> ReducedPrecision.toReduced(rgb)) == rgb);
      assertTrue(ReducedPrecision.float32(x) == x, "float32 of a float32 map is the map itself");
    }
  }

  @Test
  void convolutionAndLinearRunInBf16AndReturnFloat32() {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      Engine.getInstance().setRandomSeed(7);
      // Contiguous NCHW input and 24 output channels: the case libtorch 2.7.1 computes wrongly in bfloat16 unless
      // the input is made channels-last first (ReducedPrecision's class comment).
      NDArray x = m.randomNormal(new Shape(1, 16, 12, 10));
      NDArray w = m.randomNormal(0, 0.2f, new Shape(24, 16, 3, 3), DataType.FLOAT32);
      NDArray b = m.randomNormal(new Shape(24));
      Shape one = new Shape(1, 1);
      NDArray want = Conv2d.conv2d(x, w, b, one, one, one, 1).singletonOrThrow();
      NDArray got = in(Precision.BF16, () -> ReducedPrecision.conv2d(x, w, b, one, one, one, 1));
      assertEquals(DataType.FLOAT32, got.getDataType());
      double e = relativeError(got, want);
      assertTrue(e > FP32_RELATIVE_NOISE && e < BF16_RELATIVE_BOUND, "conv relative error " + e);
      assertFalse(autocastOn(), "autocast is off again after the operation");

      NDArray tokens = m.randomNormal(new Shape(30, 16));
      NDArray lw = m.randomNormal(new Shape(8, 16));
      NDArray lb = m.randomNormal(new Shape(8));
      NDArray lin = in(Precision.BF16, () -> ReducedPrecision.linear(tokens, lw, lb));
      assertEquals(DataType.FLOAT32, lin.getDataType());
      e = relativeError(lin, tokens.matMul(lw.transpose()).add(lb));
      assertTrue(e > FP32_RELATIVE_NOISE && e < BF16_RELATIVE_BOUND, "linear relative error " + e);

      // Under float32 the same calls are the plain operations, bit for bit.
      NDArray same = in(Precision.FP32, () -> ReducedPrecision.conv2d(x, w, b, one, one, one, 1));
      assertEquals(0f, same.sub(want).abs().max().getFloat());
      // Outside transform() a request alone changes nothing (hA, hS, the context model).
      try (ReducedPrecision.Scope s = ReducedPrecision.request(Precision.BF16)) {
        assertEquals(0f, ReducedPrecision.conv2d(x, w, b, one, one, one, 1).sub(want).abs().max().getFloat());
      }
    }
  }

  @Test
  void reducedResultStaysBf16UntilAFloat32Operation() {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NDArray x = m.randomNormal(new Shape(1, 16, 6, 6));
      NDArray w1 = m.randomNormal(0, 0.3f, new Shape(8, 16, 3, 3), DataType.FLOAT32);
      // 8 input channels: a float32 input would stay float32 (MIN_REDUCED_IN_CHANNELS), a bfloat16 one may not.
      NDArray w2 = m.randomNormal(0, 0.3f, new Shape(8, 8, 3, 3), DataType.FLOAT32);
      NDArray b = m.randomNormal(new Shape(8));
      Shape one = new Shape(1, 1);
      NDArray want = Conv2d.conv2d(x, w1, b, one, one, one, 1).singletonOrThrow();
      NDArray low = in(Precision.BF16, () -> ReducedPrecision.conv2dReduced(x, w1, b, one, one, one, 1));
      // DJL 0.36 has no mapping for libtorch's bfloat16 and reports it as UNKNOWN (docs/djl-traps.md).
      assertEquals(DataType.UNKNOWN, low.getDataType());
      NDArray back = in(Precision.BF16, () -> ReducedPrecision.conv2d(low.getNDArrayInternal().relu(), w2, b, one, one,
          one, 1));
      assertEquals(DataType.FLOAT32, back.getDataType());
      NDArray wantBack = Conv2d.conv2d(want.getNDArrayInternal().relu(), w2, b, one, one, one, 1).singletonOrThrow();
      double e = relativeError(back, wantBack);
      assertTrue(e > FP32_RELATIVE_NOISE && e < 2 * BF16_RELATIVE_BOUND, "two bf16 convolutions: " + e);
      // A float32 input of a narrow convolution stays float32: exactly the plain convolution.
      NDArray narrow = in(Precision.BF16, () -> ReducedPrecision.conv2d(want, w2, b, one, one, one, 1));
      assertEquals(0f, narrow.sub(Conv2d.conv2d(want, w2, b, one, one, one, 1).singletonOrThrow()).abs().max()
          .getFloat());
    }
  }

  @Test
  void gradientsFlowThroughBf16Operations() {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NDArray x = m.randomNormal(new Shape(1, 16, 8, 8));
      NDArray w = m.randomNormal(0, 0.3f, new Shape(6, 16, 3, 3), DataType.FLOAT32);
      NDArray b = m.randomNormal(new Shape(6));
      Shape one = new Shape(1, 1);
      NDArray[] grads = new NDArray[2];
      Precision[] ps = {Precision.FP32, Precision.BF16};
      for (int i = 0; i < 2; i++) {
        NDArray wi = w.duplicate();
        wi.setRequiresGradient(true);
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
          NDArray y = in(ps[i], () -> ReducedPrecision.conv2d(x, wi, b, one, one, one, 1));
          gc.backward(y.square().sum());
        }
        grads[i] = wi.getGradient().duplicate();
      }
      double e = relativeError(grads[1], grads[0]);
      assertTrue(e > FP32_RELATIVE_NOISE && e < 2 * BF16_RELATIVE_BOUND, "weight gradient relative error " + e);
    }
  }
}
