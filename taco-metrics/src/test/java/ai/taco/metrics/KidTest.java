package ai.taco.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDManager;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * KID against torch-fidelity's estimator ({@code kid_features_to_metric}) on fixed random 60x2048 and 50x2048
 * features (reference/fid/kid_features.safetensors), plus hand-derived values.
 */
class KidTest {
  /** float64 throughout on both sides; only the summation order of the kernel matrices differs. */
  private static final double REL = 1e-10;

  private static final int DIM = 2048;
  private static final int SUBSET_SIZE = 20;
  private static final int SUBSETS = 100;

  private static Map<String, HostTensor> ref;
  private static double[] a;
  private static double[] b;
  private static int na;
  private static int nb;

  @BeforeAll
  static void load() {
    ref = Golden.tensors("fid/kid_features.safetensors");
    a = ref.get("features1").toDoubleArray();
    b = ref.get("features2").toDoubleArray();
    na = (int) ref.get("features1").shape()[0];
    nb = (int) ref.get("features2").shape()[0];
  }

  /** The reference's drawn rows: [subsets, 2, m] (first set, second set). */
  private static int[][][] drawn() {
    long[] idx = ref.get("subset.indices").toLongArray();
    int[][][] out = new int[2][SUBSETS][SUBSET_SIZE];
    for (int s = 0; s < SUBSETS; s++) {
      for (int side = 0; side < 2; side++) {
        for (int j = 0; j < SUBSET_SIZE; j++) {
          out[side][s][j] = (int) idx[(s * 2 + side) * SUBSET_SIZE + j];
        }
      }
    }
    return out;
  }

  @Test
  void perSubsetMmdMatchesGivenTheReferenceSubsets() {
    int[][][] d = drawn();
    double[] expected = ref.get("subset.mmd2").toDoubleArray();
    double[] got = Kid.subsetMmd2(a, na, b, nb, DIM, d[0], d[1]);
    for (int s = 0; s < SUBSETS; s++) {
      assertEquals(expected[s], got[s], REL * Math.abs(expected[s]), "subset " + s);
    }
  }

  @Test
  void subsetsAreDrawnAsNumpysLegacyRandomState() {
    int[][][] d = drawn();
    Kid.NumpyLegacyRandom rng = new Kid.NumpyLegacyRandom(Kid.DEFAULT_SEED);
    for (int s = 0; s < SUBSETS; s++) {
      assertArrayEquals(d[0][s], rng.choice(na, SUBSET_SIZE), "subset " + s + ", first set");
      assertArrayEquals(d[1][s], rng.choice(nb, SUBSET_SIZE), "subset " + s + ", second set");
    }
  }

  @Test
  void kidMeanAndStdMatchTorchFidelity() {
    double[] expected = ref.get("subset.kid").toDoubleArray();
    Kid.Result r = Kid.kid(a, na, b, nb, DIM, SUBSETS, SUBSET_SIZE, Kid.DEFAULT_SEED);
    assertEquals(expected[0], r.mean(), REL * expected[0], "mean");
    assertEquals(expected[1], r.std(), 1e-8 * expected[1], "std");
  }

  /** Subset size = rows on both sides: every subset is the whole set, so no random draw matters. */
  @Test
  void wholeSetSubsetsMatchTorchFidelity() {
    double[] expected = ref.get("full.kid").toDoubleArray();
    double[] a50 = Arrays.copyOf(a, nb * DIM);
    Kid.Result r = Kid.kid(a50, nb, b, nb, DIM); // default size min(1000, 50, 50) = 50
    assertEquals(nb, r.subsetSize());
    assertEquals(Kid.DEFAULT_SUBSETS, r.subsets());
    assertEquals(expected[0], r.mean(), REL * expected[0], "mean");
    assertEquals(0, r.std(), 1e-12 * expected[0], "std");
    Kid.Result other = Kid.kid(a50, nb, b, nb, DIM, 3, nb, 12345);
    assertEquals(expected[0], other.mean(), REL * expected[0], "another seed");
  }

  /**
   * A set against itself with whole-set subsets: with a = mean off-diagonal and c = mean diagonal kernel value, the
   * estimator is 2a − 2((m−1)a + c)/m = −2(c − a)/m. Not 0: the estimator is unbiased for independent samples, and a
   * set compared with itself is the same sample, whose cross term keeps its diagonal (−0.037 here). Kernel sums by
   * hand.
   */
  @Test
  void aSetAgainstItselfGivesTheEstimatorsKnownOffset() {
    int m = nb;
    double diag = 0;
    double off = 0;
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < m; j++) {
        double dot = 0;
        for (int k = 0; k < DIM; k++) {
          dot += b[i * DIM + k] * b[j * DIM + k];
        }
        double kv = Math.pow(dot / DIM + 1, 3);
        if (i == j) {
          diag += kv;
        } else {
          off += kv;
        }
      }
    }
    double expected = -2 * (diag / m - off / ((double) m * (m - 1))) / m;
    Kid.Result r = Kid.kid(b, m, b, m, DIM);
    assertEquals(expected, r.mean(), 1e-9 * Math.abs(expected));
  }

  /**
   * d = 2, X = {(1,0), (0,1)}, Y = {(1,1), (0,0)}, k(x,y) = (x·y/2 + 1)³. Off-diagonal K_XX: k = 1 (twice); K_YY:
   * k((1,1),(0,0)) = 1 (twice); K_XY = 3.375, 1, 3.375, 1 (sum 8.75). MMD² = (2 + 2)/(2·1) − 2·8.75/4 = −2.375.
   */
  @Test
  void tinyHandExample() {
    try (NDManager m = NDManager.newBaseManager()) {
      double v = Kid.mmd2Unbiased(m, new double[] {1, 0, 0, 1}, new double[] {1, 1, 0, 0}, 2, 2);
      assertEquals(-2.375, v, 1e-15);
    }
    Kid.Result r = Kid.kid(new double[] {1, 0, 0, 1}, 2, new double[] {1, 1, 0, 0}, 2, 2);
    assertEquals(-2.375, r.mean(), 1e-15);
    assertEquals(0, r.std(), 1e-15);
  }

  @Test
  void badArgumentsAreRefused() {
    assertThrows(MetricException.class, () -> Kid.kid(a, na, b, nb, DIM, SUBSETS, 1, 0));
    assertThrows(MetricException.class, () -> Kid.kid(a, na, b, nb, DIM, SUBSETS, nb + 1, 0));
    assertThrows(MetricException.class, () -> Kid.kid(a, na, b, nb, DIM, 0, SUBSET_SIZE, 0));
    assertThrows(MetricException.class, () -> Kid.kid(a, na, b, nb, DIM, SUBSETS, SUBSET_SIZE, -1));
    assertThrows(MetricException.class, () -> Kid.kid(a, na + 1, b, nb, DIM));
  }
}
