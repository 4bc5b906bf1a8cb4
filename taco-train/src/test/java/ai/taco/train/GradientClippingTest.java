package ai.taco.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;
import org.junit.jupiter.api.Test;

/** clip_grad_norm_: checked against the norm and scale computed by hand in double. */
class GradientClippingTest {

  @Test
  void scalesToMaxNormWhenAbove() {
    try (NDManager m = NDManager.newBaseManager()) {
      float[] a = {3f, -4f};
      float[] b = {12f};
      NDArray ga = m.create(a);
      NDArray gb = m.create(b);
      double total = GradientClipping.clipGradNorm(List.of(ga, gb), 1.0);
      assertEquals(13.0, total, 1e-6); // sqrt(9 + 16 + 144)
      double coef = 1.0 / (13.0 + 1e-6);
      assertEquals(3 * coef, ga.getFloat(0), 1e-7);
      assertEquals(-4 * coef, ga.getFloat(1), 1e-7);
      assertEquals(12 * coef, gb.getFloat(0), 1e-7);
    }
  }

  @Test
  void leavesSmallGradientsAlone() {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray g = m.create(new float[] {0.3f, 0.4f});
      double total = GradientClipping.clipGradNorm(List.of(g), 1.0);
      assertEquals(0.5, total, 1e-7);
      assertEquals(0.3f, g.getFloat(0));
      assertEquals(0.4f, g.getFloat(1));
    }
  }
}
