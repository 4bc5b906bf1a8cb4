package ai.taco.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The official deconv (ConvTranspose2d, k=5, s=2, padding 2, output_padding 1) against its definition, evaluated
 * here in double precision by scattering every input pixel through the kernel: values, and the gradients of
 * L = Σ out·R with respect to the input and the weight. Covers the per-phase path (out ≥ 16) and the polyphase path
 * (gS's last layer, out = 3), in training mode (gradients through the phase-wise writes) and frozen (cached kernels).
 */
class TransposedConvTest {
  private static final int K = 5;
  private static final int S = 2;
  private static final int PAD = 2;
  /** Size of the refill buffers: a 3×5 float32 tap selector (60 bytes), the size of what was freed. */
  private static final int JUNK_BYTES = 3 * 5 * Float.BYTES;

  @Test
  void phasesMatchTheDefinition() {
    check(5, 16, 3, 4, false);
  }

  @Test
  void polyphaseMatchesTheDefinition() {
    check(6, 3, 4, 3, false);
  }

  /**
   * gS's last layer in training, with the forward in its own {@link Scoped#step} (as in gS, which frees the step's
   * intermediates) and garbage collection plus reuse of freed native memory before backward: the weight gradient must
   * still match the definition (it came out NaN/Inf or wrong when the polyphase kernel was built from tap selectors
   * over Java buffers, see docs/djl-traps.md).
   */
  @Test
  void polyphaseGradientSurvivesGarbageCollection() {
    for (int trial = 0; trial < 3; trial++) {
      check(6, 3, 4, 3, true);
    }
  }

  private static void check(int in, int out, int h, int w, boolean gcBeforeBackward) {
    SplittableRandom rnd = new SplittableRandom(11);
    float[] x = random(rnd, in * h * w);
    float[] wt = random(rnd, in * out * K * K);
    float[] b = random(rnd, out);
    int oh = S * h;
    int ow = S * w;
    float[] r = random(rnd, out * oh * ow);
    // The definition: out[o, S*iy - PAD + ky, S*ix - PAD + kx] += x[i, iy, ix] * W[i, o, ky, kx], cropped to S·H × S·W
    // (output_padding 1 makes the size exactly S·H).
    double[] y = new double[out * oh * ow];
    double[] dx = new double[x.length];
    double[] dw = new double[wt.length];
    for (int o = 0; o < out; o++) {
      for (int p = 0; p < oh * ow; p++) {
        y[o * oh * ow + p] = b[o];
      }
    }
    for (int i = 0; i < in; i++) {
      for (int o = 0; o < out; o++) {
        for (int iy = 0; iy < h; iy++) {
          for (int ix = 0; ix < w; ix++) {
            for (int ky = 0; ky < K; ky++) {
              for (int kx = 0; kx < K; kx++) {
                int oy = S * iy - PAD + ky;
                int ox = S * ix - PAD + kx;
                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) {
                  continue;
                }
                int xi = (i * h + iy) * w + ix;
                int wi = ((i * out + o) * K + ky) * K + kx;
                int yi = (o * oh + oy) * ow + ox;
                y[yi] += (double) x[xi] * wt[wi];
                dx[xi] += (double) r[yi] * wt[wi];
                dw[wi] += (double) r[yi] * x[xi];
              }
            }
          }
        }
      }
    }
    try (NDManager m = NDManager.newBaseManager()) {
      NamedParameters params = new NamedParameters();
      TransposedConv layer = TransposedConv.up(params, "up", in, out);
      params.attach(m);
      NDArray weight = m.create(wt, new Shape(in, out, K, K));
      weight.setRequiresGradient(true);
      params.put("up.weight", weight);
      params.put("up.bias", m.create(b, new Shape(out)));
      NDArray input = m.create(x, new Shape(1, in, h, w));
      input.setRequiresGradient(true);
      NDArray result;
      try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        result = gcBeforeBackward ? Scoped.step(() -> layer.forward(input)) : layer.forward(input);
        if (gcBeforeBackward) {
          collectAndReuseFreedMemory();
        }
        gc.backward(result.mul(m.create(r, new Shape(1, out, oh, ow))).sum());
      }
      assertArrayEquals(new long[] {1, out, oh, ow}, result.getShape().getShape());
      assertClose(y, result.toFloatArray(), "output");
      assertClose(dx, input.getGradient().toFloatArray(), "d/dx");
      assertClose(dw, weight.getGradient().toFloatArray(), "d/dW");

      params.freeze(); // inference: derived kernels are cached
      assertClose(y, layer.forward(input.stopGradient()).toFloatArray(), "output, frozen");
      assertClose(y, layer.forward(input.stopGradient()).toFloatArray(), "output, frozen, cached kernels");
    }
  }

  /** Runs the collector and refills freed native memory with NaN, so a read of freed memory shows in the result. */
  static void collectAndReuseFreedMemory() {
    List<ByteBuffer> junk = new ArrayList<>();
    for (int round = 0; round < 5; round++) {
      System.gc();
      try {
        Thread.sleep(20); // the Cleaner thread frees direct buffers after the collection
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      for (int i = 0; i < 2000; i++) {
        ByteBuffer b = ByteBuffer.allocateDirect(JUNK_BYTES).order(ByteOrder.nativeOrder());
        for (int j = 0; j < JUNK_BYTES; j += Float.BYTES) {
          b.putFloat(j, Float.NaN);
        }
        junk.add(b);
      }
    }
  }

  private static float[] random(SplittableRandom rnd, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) (rnd.nextDouble() * 2 - 1);
    }
    return a;
  }

  /** float32 sums of at most a few hundred terms of size ~1: 1e-4 absolute is far below any wrong-tap error. */
  private static void assertClose(double[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what);
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], actual[i], 1e-4, what + " at " + i);
    }
  }
}
