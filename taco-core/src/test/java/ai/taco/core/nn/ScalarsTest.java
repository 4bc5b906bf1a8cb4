package ai.taco.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * A scalar factor on an autograd path must survive garbage collection between forward and backward (see Scalars).
 */
class ScalarsTest {

  /** Gradient of sum(x * 3) after GC runs and freed memory is reused (filled with NaN) before backward. */
  static float[] gradientUnderGc(BiFunction<NDArray, Double, NDArray> times) {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NDArray x = m.create(new float[] {1f, 2f, 3f, 4f});
      x.setRequiresGradient(true);
      try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        NDArray y = times.apply(x, 3.0).sum();
        for (int round = 0; round < 5; round++) {
          System.gc();
          List<ByteBuffer> junk = new ArrayList<>();
          for (int i = 0; i < 2000; i++) {
            ByteBuffer b = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
            b.putFloat(0, Float.NaN);
            junk.add(b);
          }
        }
        gc.backward(y);
      }
      return x.getGradient().toFloatArray();
    }
  }

  @Test
  void scalarFactorSurvivesGarbageCollection() {
    float[] plain = gradientUnderGc((x, v) -> x.mul(v.floatValue()));
    // Informational: DJL's own x.mul(Number) is exposed to the bug this class avoids.
    System.out.println("[ScalarsTest] NDArray.mul(Number) gradient under GC: " + java.util.Arrays.toString(plain));
    for (int trial = 0; trial < 3; trial++) {
      float[] g = gradientUnderGc(Scalars::mul);
      for (float v : g) {
        assertEquals(3f, v, 0f);
      }
    }
  }
}
