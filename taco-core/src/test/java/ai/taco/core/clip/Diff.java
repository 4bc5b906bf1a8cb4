package ai.taco.core.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.taco.core.io.HostTensor;

/** Max-abs-difference assertions that print what they reached. */
final class Diff {
  private Diff() {}

  static double maxAbs(float[] a, float[] b) {
    if (a.length != b.length) {
      throw new AssertionError("length " + a.length + " vs " + b.length);
    }
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      double d = Math.abs((double) a[i] - b[i]);
      if (!(d <= m)) {
        m = d; // NaN propagates
      }
    }
    return m;
  }

  static double assertClose(String what, HostTensor expected, NDArray actual, double tol) {
    assertArrayEquals(expected.shape(), actual.getShape().getShape(), what + " shape");
    double d = maxAbs(expected.toFloatArray(), actual.toFloatArray());
    System.out.printf("[parity] %-40s max|diff| = %.3g (tol %.1g)%n", what, d, tol);
    assertTrue(d <= tol, what + ": max |diff| " + d + " > " + tol);
    return d;
  }
}
