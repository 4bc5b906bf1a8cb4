package ai.taco.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Fréchet distance against pytorch-fid/scipy and CMMD against the cmmd estimator (golden fid/, cmmd/). */
class FidCmmdTest {

  @Test
  void frechetDistanceMatchesPytorchFid() throws Exception {
    Map<String, HostTensor> g = Golden.tensors("fid/frechet.safetensors");
    GaussianStats s1 = Fid.statistics(TestTensors.rows(g.get("act1")));
    GaussianStats s2 = Fid.statistics(TestTensors.rows(g.get("act2")));
    double[] mu1 = g.get("mu1").toDoubleArray();
    double[] sig1 = g.get("sigma1").toDoubleArray();
    for (int i = 0; i < mu1.length; i++) {
      assertEquals(mu1[i], s1.mean()[i], 1e-12, "mu1");
    }
    for (int i = 0; i < sig1.length; i++) {
      assertEquals(sig1[i], s1.covariance()[i], 1e-10 * (1 + Math.abs(sig1[i])), "sigma1 (np.cov, n-1)");
    }
    double fid = Fid.frechetDistance(s1, s2);
    assertEquals(g.get("fid").toDoubleArray()[0], fid, 1e-3, "fid");
    // Golden statistics directly (no accumulation): isolates the matrix square root.
    GaussianStats gs1 = new GaussianStats(64, 300, mu1, sig1);
    GaussianStats gs2 = new GaussianStats(64, 280, g.get("mu2").toDoubleArray(), g.get("sigma2").toDoubleArray());
    assertEquals(298.83491479637, Fid.frechetDistance(gs1, gs2), 1e-6, "fid from golden stats");
    assertEquals(0.0, Fid.frechetDistance(gs1, gs1), 1e-6, "fid_self");
    // Straight from the features: the low-rank (SVD of D1 D2ᵀ) route, and the covariance route on a subset.
    double[] a1 = g.get("act1").toDoubleArray();
    double[] a2 = g.get("act2").toDoubleArray();
    assertEquals(g.get("fid").toDoubleArray()[0], Fid.frechetDistance(a1, 300, a2, 280, 64), 1e-6, "n > d route");
    assertEquals(g.get("fid").toDoubleArray()[0], Fid.lowRank(a1, 300, a2, 280, 64), 1e-6, "SVD route");
    double[] b1 = java.util.Arrays.copyOf(a1, 40 * 64);
    double[] b2 = java.util.Arrays.copyOf(a2, 50 * 64);
    double viaStats = Fid.frechetDistance(Fid.statistics(rows(b1, 64)), Fid.statistics(rows(b2, 64)));
    assertEquals(viaStats, Fid.frechetDistance(b1, 40, b2, 50, 64), 1e-7 * viaStats, "n < d: both routes agree");
  }

  private static double[][] rows(double[] flat, int d) {
    double[][] r = new double[flat.length / d][d];
    for (int i = 0; i < r.length; i++) {
      System.arraycopy(flat, i * d, r[i], 0, d);
    }
    return r;
  }

  /** Singular S1 (Cholesky fails, eigen route): rotated diag(4,0,1) and diag(9,5,0) give tr sqrtm = sqrt(36) = 6. */
  @Test
  void traceSqrtOfASingularProduct() {
    double c = Math.cos(0.3), s = Math.sin(0.3);
    double[][] r = {{c, -s, 0}, {s * 0.8, c * 0.8, 0.6}, {-s * 0.6, -c * 0.6, 0.8}}; // orthonormal rows
    org.ejml.data.DMatrixRMaj rot = new org.ejml.data.DMatrixRMaj(r);
    org.ejml.data.DMatrixRMaj s1 = rotated(rot, 4, 0, 1);
    org.ejml.data.DMatrixRMaj s2 = rotated(rot, 9, 5, 0);
    assertEquals(6.0, Fid.traceSqrtProduct(s1, s2), 1e-7);
    assertEquals(6.0 + Math.sqrt(5e-3), Fid.traceSqrtProduct(rotated(rot, 4, 1e-3, 1), s2), 1e-7, "Cholesky route");
  }

  private static org.ejml.data.DMatrixRMaj rotated(org.ejml.data.DMatrixRMaj rot, double... diag) {
    org.ejml.data.DMatrixRMaj d = org.ejml.dense.row.CommonOps_DDRM.diag(diag);
    org.ejml.data.DMatrixRMaj t = new org.ejml.data.DMatrixRMaj(3, 3);
    org.ejml.data.DMatrixRMaj out = new org.ejml.data.DMatrixRMaj(3, 3);
    org.ejml.dense.row.CommonOps_DDRM.multTransA(rot, d, t);
    org.ejml.dense.row.CommonOps_DDRM.mult(t, rot, out);
    return out;
  }

  @Test
  void cmmdMatchesTheReferenceEstimator() throws Exception {
    Map<String, HostTensor> g = Golden.tensors("cmmd/cmmd.safetensors");
    float[][] x = TestTensors.floatRows(g.get("x"));
    float[][] y = TestTensors.floatRows(g.get("y"));
    float f32 = g.get("mmd_xy").toFloatArray()[0];
    assertEquals(f32, Cmmd.cmmdFloat32(x, y), 5e-4 * f32, "float32 compute");
    assertEquals(g.get("mmd_xy_float64").toDoubleArray()[0], Cmmd.cmmd(x, y), 1e-9, "float64 compute");
    float un = g.get("mmd_unnorm").toFloatArray()[0];
    float[][] xu = TestTensors.floatRows(g.get("x_unnorm"));
    float[][] yu = TestTensors.floatRows(g.get("y_unnorm"));
    assertEquals(un, Cmmd.cmmdFloat32(xu, yu), 5e-4 * un, "unnormalised, float32");
    assertEquals(un, Cmmd.cmmd(xu, yu), 5e-4 * un, "unnormalised, double");
    assertEquals(0.0, Cmmd.cmmd(x, x), 1e-12, "same set");
    assertThrows(MetricException.class, () -> Cmmd.cmmd(x, new float[][] {{1f, 2f}}));
  }
}
