package ai.taco.core.clip;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

/** The MLP activations against their closed forms (independent values computed in double here). */
class HiddenActTest {
  @Test
  void quickGeluAndGelu() {
    float[] x = {-3f, -1f, -0.25f, 0f, 0.5f, 1f, 2.5f};
    try (NDManager m = NDManager.newBaseManager()) {
      float[] q = HiddenAct.of("quick_gelu").apply(m.create(x)).toFloatArray();
      float[] g = HiddenAct.of("gelu").apply(m.create(x)).toFloatArray();
      for (int i = 0; i < x.length; i++) {
        double quick = x[i] / (1 + Math.exp(-1.702 * x[i]));
        assertEquals(quick, q[i], 1e-6, "quick_gelu(" + x[i] + ")");
      }
      // GELU(x) = x * Phi(x); Phi at these points from standard normal tables.
      double[] phi = {0.0013498980, 0.1586552539, 0.4012936743, 0.5, 0.6914624613, 0.8413447461, 0.9937903347};
      for (int i = 0; i < x.length; i++) {
        assertEquals(x[i] * phi[i], g[i], 1e-6, "gelu(" + x[i] + ")");
      }
    }
  }
}
