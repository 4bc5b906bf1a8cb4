package ai.taco.core.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.taco.core.tensor.HostTensor;

/** Max-abs-difference measures and assertions for every module's tests (they print what they reached). */
public final class Diff {
  private Diff() {}

  /** max |a - b| in double precision; NaN if any element differs by NaN. */
  public static double maxAbs(float[] a, float[] b) {
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

  /** max |a - b| computed by the engine (shapes must match). */
  public static double maxAbs(NDArray a, NDArray b) {
    if (!a.getShape().equals(b.getShape())) {
      throw new AssertionError("shape " + a.getShape() + " != " + b.getShape());
    }
    return a.sub(b).abs().max().toType(DataType.FLOAT64, false).getDouble();
  }

  public static double assertClose(String what, HostTensor expected, NDArray actual, double tol) {
    assertArrayEquals(expected.shape(), actual.getShape().getShape(), what + " shape");
    double d = maxAbs(expected.toFloatArray(), actual.toFloatArray());
    System.out.printf("[parity] %-40s max|diff| = %.3g (tol %.1g)%n", what, d, tol);
    assertTrue(d <= tol, what + ": max |diff| " + d + " > " + tol);
    return d;
  }
}
