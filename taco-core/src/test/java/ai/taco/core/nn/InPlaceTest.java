package ai.taco.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.taco.core.tensor.Precision;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link InPlace}: ReLU and sigmoid against their definitions computed here, in place (the same array back) on a
 * fresh float32 map and on a map of gA's bfloat16 residual stream, and out of place, with the right gradient, on an
 * array autograd tracks.
 */
class InPlaceTest {
  private static final Shape SHAPE = new Shape(1, 24, 9, 11);

  private static float[] gaussian(long n, long seed) {
    Random r = new Random(seed);
    float[] x = new float[Math.toIntExact(n)];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (3 * r.nextGaussian());
    }
    return x;
  }

  @Test
  void reluAndSigmoidInPlaceOnAFreshArray() {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      float[] x = gaussian(SHAPE.size(), 1);
      NDArray a = m.create(x, SHAPE).mul(1);
      assertTrue(InPlace.mayWrite(a), "libtorch's relu_ is reachable and a takes no part in autograd");
      NDArray r = InPlace.relu(a);
      assertSame(a, r);
      float[] got = r.toFloatArray();
      for (int i = 0; i < x.length; i++) {
        assertEquals(Math.max(x[i], 0f), got[i], 0f, "relu at " + i);
      }
      NDArray b = m.create(x, SHAPE).mul(1);
      NDArray s = InPlace.sigmoid(b);
      assertSame(b, s);
      float[] sig = s.toFloatArray();
      for (int i = 0; i < x.length; i++) {
        assertEquals(1 / (1 + Math.exp(-x[i])), sig[i], 1e-6, "sigmoid at " + i);
      }
    }
  }

  @Test
  void reluInPlaceOnTheReducedResidualStream() {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      float[] x = gaussian(SHAPE.size(), 2);
      NDArray a = ChannelsLast.of(m.create(x, SHAPE));
      float[] got;
      try (ReducedPrecision.Scope s = ReducedPrecision.request(Precision.BF16)) {
        got = ReducedPrecision.transform(() -> {
          NDArray low = ReducedPrecision.toReduced(a);
          assertTrue(ReducedPrecision.isReduced(low));
          NDArray r = InPlace.relu(low);
          assertSame(low, r);
          return ReducedPrecision.float32(r);
        }).toFloatArray();
      }
      // Channels-last storage, NCHW logical order: compare through the float32 input's own order.
      float[] logical = a.toFloatArray();
      for (int i = 0; i < x.length; i++) {
        assertEquals(Math.max(ReducedPrecisionTest.bf16(logical[i]), 0f), got[i], 0f, "relu at " + i);
      }
    }
  }

  @Test
  void outOfPlaceWithTheRightGradientWhereAutogradTracksTheArray() {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      float[] x = gaussian(SHAPE.size(), 3);
      NDArray leaf = m.create(x, SHAPE);
      leaf.setRequiresGradient(true);
      try (GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
        NDArray a = leaf.mul(2);
        assertFalse(InPlace.mayWrite(a), "a tracked array must not be changed in place");
        NDArray r = InPlace.relu(a);
        assertNotSame(a, r);
        gc.backward(r.sum());
      }
      float[] grad = leaf.getGradient().toFloatArray();
      for (int i = 0; i < x.length; i++) {
        assertEquals(x[i] > 0 ? 2f : 0f, grad[i], 0f, "d relu(2x)/dx at " + i);
      }
    }
  }
}
