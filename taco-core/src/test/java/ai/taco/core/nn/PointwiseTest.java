package ai.taco.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import ai.taco.core.tensor.Precision;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * gA's and gS's float32 1×1 layers by oneDNN ({@link Pointwise}): the values of a per-pixel product computed here in
 * double precision, also for widths whose oneDNN kernel is wrong on some CPUs (96→80 and 64→112 on this project's
 * machine: the check must catch them), the gradients training takes through the route, the layout and shape the
 * callers read, and the rules that keep every other 1×1 layer (entropy models, narrow widths, small maps, bfloat16) on
 * the matrix product it had.
 */
class PointwiseTest {
  /** float32 sums of 64-128 terms of magnitude ~1: a few float32 ulps of the largest output. */
  private static final double FP32_RELATIVE_BOUND = 1e-6;

  /** The weight gradient sums over every position (960 here): its rounding grows with that count. */
  private static final double GRADIENT_RELATIVE_BOUND = 1e-5;

  private static <T> T inTransform(Precision p, Supplier<T> body) {
    try (ReducedPrecision.Scope s = ReducedPrecision.request(p)) {
      return ReducedPrecision.transform(body);
    }
  }

  private static float[] gaussians(Random r, int n, double scale) {
    float[] f = new float[n];
    for (int i = 0; i < n; i++) {
      f[i] = (float) (r.nextGaussian() * scale);
    }
    return f;
  }

  /** y[t][o] = b[o] + Σ_i x[t][i]·w[o][i], in double. */
  private static double[] reference(float[] x, float[] w, float[] b, int tokens, int in, int out) {
    double[] y = new double[tokens * out];
    for (int t = 0; t < tokens; t++) {
      for (int o = 0; o < out; o++) {
        double s = b[o];
        for (int i = 0; i < in; i++) {
          s += (double) x[t * in + i] * w[o * in + i];
        }
        y[t * out + o] = s;
      }
    }
    return y;
  }

  private static double maxRelativeError(float[] got, double[] want) {
    double err = 0;
    double scale = 0;
    for (int i = 0; i < want.length; i++) {
      err = Math.max(err, Math.abs(got[i] - want[i]));
      scale = Math.max(scale, Math.abs(want[i]));
    }
    return err / scale;
  }

  @Test
  void convolutionOfAChannelsLastMapMatchesTheDoubleProduct() {
    for (int out : new int[] {96, 80}) { // 80: wrong from libtorch 2.7.1's oneDNN kernel on an AVX-512 AMD CPU
      convolutionMatchesTheDoubleProduct(96, out, 24, 40);
    }
  }

  private static void convolutionMatchesTheDoubleProduct(int in, int out, int h, int w) {
    Random r = new Random(3);
    float[] x = gaussians(r, h * w * in, 1); // [H, W, C]: the channels-last storage of [1, C, H, W]
    float[] wt = gaussians(r, out * in, 0.1);
    float[] b = gaussians(r, out, 0.1);
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NDArray image = m.create(x, new Shape(1, h, w, in)).transpose(0, 3, 1, 2);
      NDArray weight = m.create(wt, new Shape(out, in, 1, 1));
      NDArray bias = m.create(b);
      NamedParameters params = new NamedParameters();
      Conv conv = new Conv(params, "c", in, out, 1, 1);
      params.put("c.weight", weight);
      params.put("c.bias", bias);
      assertTrue(inTransform(Precision.FP32, () -> Pointwise.eligible(image, in)));
      NDArray y = inTransform(Precision.FP32, () -> conv.forward(image));
      assertArrayEquals(new long[] {1, out, h, w}, y.getShape().getShape());
      float[] tokens = y.transpose(0, 2, 3, 1).toFloatArray(); // [H, W, out]
      double err = maxRelativeError(tokens, reference(x, wt, b, h * w, in, out));
      assertTrue(err < FP32_RELATIVE_BOUND, in + "→" + out + ": relative error " + err);
      assertTrue(Pointwise.checkedShapes().containsKey(List.of(0L, 1L, (long) in, (long) out, (long) h, (long) w,
          (long) JniUtils.getNumThreads())), "the shape was checked");
    }
  }

  @Test
  void linearOverTokensMatchesTheDoubleProductAndKeepsTheLeadingShape() {
    int batch = 2;
    int tokens = 300;
    int in = 64;
    int out = 112; // wrong from libtorch 2.7.1's oneDNN kernel on an AVX-512 AMD CPU
    Random r = new Random(5);
    float[] x = gaussians(r, batch * tokens * in, 1);
    float[] wt = gaussians(r, out * in, 0.1);
    float[] b = gaussians(r, out, 0.1);
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NDArray xs = m.create(x, new Shape(batch, tokens, in));
      NDArray weight = m.create(wt, new Shape(out, in));
      NDArray bias = m.create(b);
      NDArray y = inTransform(Precision.FP32, () -> ReducedPrecision.linear(xs, weight, bias));
      assertArrayEquals(new long[] {batch, tokens, out}, y.getShape().getShape());
      double err = maxRelativeError(y.toFloatArray(), reference(x, wt, b, batch * tokens, in, out));
      assertTrue(err < FP32_RELATIVE_BOUND, "relative error " + err);
    }
  }

  @Test
  void onlyWideFloat32MapsInsideTheTransformsTakeOneDnn() {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NDArray wide = m.zeros(new Shape(1, 64, 32, 32)); // 65,536 elements
      NDArray small = m.zeros(new Shape(1, 64, 16, 20)); // 20,480: libtorch's own cut (not above it)
      assertFalse(Pointwise.eligible(wide, 64), "outside gA/gS (the entropy models)");
      assertTrue(inTransform(Precision.FP32, () -> Pointwise.eligible(wide, 64)));
      assertFalse(inTransform(Precision.FP32, () -> Pointwise.eligible(wide, 48)), "narrow reduction");
      assertFalse(inTransform(Precision.FP32, () -> Pointwise.eligible(small, 64)), "small map");
      assertFalse(inTransform(Precision.BF16, () -> Pointwise.eligible(wide, 64)), "bfloat16 has its own route");
      assertFalse(Pointwise.eligible(wide, 64), "the transform scope is left again");
    }
  }

  @Test
  void aResultWithWrongChannelsDisagreesAndSummationOrderAgrees() {
    Random r = new Random(13);
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NDArray want = m.create(gaussians(r, 64 * 100, 1), new Shape(1, 64, 10, 10));
      NDArray roundedDifferently = want.mul(1 + 1e-6f);
      NDArray tail = want.get(":, :32").concat(want.get(":, 32:").mul(0.5f), 1); // the kernel's failure: last 32 off
      assertTrue(Pointwise.agree(roundedDifferently, want));
      assertFalse(Pointwise.agree(tail, want), "last 32 channels off");
      assertFalse(Pointwise.agree(want.mul(Float.NaN), want), "NaN");
    }
  }

  /** Training runs the same route: its input and weight gradients are the matrix product's (oneDNN's backward). */
  @Test
  void gradientsThroughTheRouteAreTheMatrixProducts() {
    for (int out : new int[] {96, 80}) {
      int in = 96;
      int h = 24;
      int w = 40;
      Random r = new Random(17);
      float[] x = gaussians(r, h * w * in, 1);
      float[] wt = gaussians(r, out * in, 0.1);
      float[] b = gaussians(r, out, 0.1);
      float[] g = gaussians(r, h * w * out, 1);
      float[][] viaRoute = gradients(in, out, h, w, x, wt, b, g, true);
      float[][] viaProduct = gradients(in, out, h, w, x, wt, b, g, false);
      for (int k = 0; k < 2; k++) {
        double err = 0;
        double scale = 0;
        for (int i = 0; i < viaProduct[k].length; i++) {
          err = Math.max(err, Math.abs(viaRoute[k][i] - viaProduct[k][i]));
          scale = Math.max(scale, Math.abs(viaProduct[k][i]));
        }
        assertTrue(err / scale < GRADIENT_RELATIVE_BOUND, in + "→" + out + (k == 0 ? " input" : " weight")
            + " gradient: relative error " + err / scale);
      }
    }
  }

  /** d(Σ g·conv(x))/dx and /dw, with the convolution inside gA/gS ({@code inTransform}) or outside. */
  private static float[][] gradients(
      int in, int out, int h, int w, float[] x, float[] wt, float[] b, float[] g, boolean inTransform) {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NDArray image = m.create(x, new Shape(1, h, w, in)).transpose(0, 3, 1, 2);
      NDArray weight = m.create(wt, new Shape(out, in, 1, 1));
      NDArray upstream = m.create(g, new Shape(1, h, w, out)).transpose(0, 3, 1, 2);
      NamedParameters params = new NamedParameters();
      Conv conv = new Conv(params, "c", in, out, 1, 1);
      params.put("c.weight", weight);
      params.put("c.bias", m.create(b));
      image.setRequiresGradient(true);
      weight.setRequiresGradient(true);
      try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        NDArray y = inTransform ? inTransform(Precision.FP32, () -> conv.forward(image)) : conv.forward(image);
        gc.backward(y.mul(upstream).sum());
      }
      return new float[][] {
        image.getGradient().transpose(0, 2, 3, 1).toFloatArray(), weight.getGradient().toFloatArray()
      };
    }
  }

  @Test
  void outsideTheTransformsALinearLayerIsExactlyTheMatrixProduct() {
    Random r = new Random(9);
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NDArray x = m.create(gaussians(r, 512 * 96, 1), new Shape(512, 96));
      NDArray weight = m.create(gaussians(r, 96 * 96, 0.1), new Shape(96, 96));
      NDArray bias = m.create(gaussians(r, 96, 0.1));
      float[] want = Linear.linear(x, weight, bias).singletonOrThrow().toFloatArray();
      assertArrayEquals(want, ReducedPrecision.linear(x, weight, bias).toFloatArray());
    }
  }
}
