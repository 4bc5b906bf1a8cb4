package ai.taco.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** PSNR, SSIM and MS-SSIM against pytorch_msssim 1.0.0 and TACO's PSNR (golden msssim/). */
class PsnrMsSsimTest {
  private static final double REL = 1e-5;
  private static Map<String, HostTensor> cases;
  private static JsonNode values;

  @BeforeAll
  static void load() {
    cases = Golden.tensors("msssim/msssim-cases.safetensors");
    values = Golden.json("msssim/msssim-values.json").get("values");
  }

  private static void assertRel(double expected, double actual, double rel, String what) {
    assertEquals(expected, actual, Math.abs(expected) * rel, what);
  }

  @Test
  void allPairsMatchPytorchMsssimAndTacoPsnr() {
    for (int k = 0; k < 4; k++) {
      HostTensor xt = cases.get("pair" + k + ".x_u8");
      float[] x = TestTensors.floats01(xt);
      float[] y = TestTensors.floats01(cases.get("pair" + k + ".y"));
      int n = TestTensors.dim(xt, 0), c = TestTensors.dim(xt, 1), h = TestTensors.dim(xt, 2), w = TestTensors.dim(xt, 3);
      JsonNode v = values.get(k);
      assertRel(v.get("psnr_taco").asDouble(), Psnr.psnr(x, y), REL, "psnr pair " + k);
      assertRel(v.get("mse").asDouble(), Psnr.mse(x, y), REL, "mse pair " + k);
      assertRel(TestTensors.floats01(cases.get("pair" + k + ".ms_ssim"))[0], MsSsim.msSsim(x, y, n, c, h, w), REL,
          "ms_ssim pair " + k);
      assertRel(TestTensors.floats01(cases.get("pair" + k + ".ssim"))[0], MsSsim.ssim(x, y, n, c, h, w), REL, "ssim pair " + k);
    }
  }

  @Test
  void batchOfTwoGivesPerImageValuesAndTheirMean() throws Exception {
    HostTensor xt = cases.get("pair1.x_u8");
    float[] x1 = TestTensors.floats01(xt);
    float[] y1 = TestTensors.floats01(cases.get("pair1.y"));
    float[] q = new float[x1.length]; // round(x*15)/15 in float32, as the golden batch was built
    for (int i = 0; i < q.length; i++) {
      q[i] = (float) Math.rint(x1[i] * 15f) / 15f;
    }
    int h = TestTensors.dim(xt, 2), w = TestTensors.dim(xt, 3);
    float[] x = concat(x1, x1);
    float[] y = concat(y1, q);
    JsonNode batch = Golden.json("msssim/msssim-values.json").get("batch");
    double[] per = MsSsim.msSsimPerImage(x, y, 2, 3, h, w);
    assertRel(batch.get("ms_ssim_per_image").get(0).asDouble(), per[0], REL, "image 0");
    assertRel(batch.get("ms_ssim_per_image").get(1).asDouble(), per[1], REL, "image 1");
    assertRel(batch.get("ms_ssim_mean").asDouble(), MsSsim.msSsim(x, y, 2, 3, h, w), REL, "mean");
    assertRel(batch.get("ssim_mean").asDouble(), MsSsim.ssim(x, y, 2, 3, h, w), REL, "ssim mean");
  }

  @Test
  void ndArrayOverloadsGiveTheGoldenValues() {
    HostTensor xt = cases.get("pair3.x_u8");
    try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
      ai.djl.ndarray.NDArray x = m.create(TestTensors.floats01(xt), new ai.djl.ndarray.types.Shape(xt.shape()));
      ai.djl.ndarray.NDArray y = m.create(TestTensors.floats01(cases.get("pair3.y")), x.getShape());
      JsonNode v = values.get(3);
      assertRel(v.get("psnr_taco").asDouble(), Psnr.psnr(x, y), REL, "psnr");
      assertRel(v.get("ms_ssim").asDouble(), MsSsim.msSsim(x, y), REL, "ms_ssim");
      assertRel(v.get("ssim").asDouble(), MsSsim.ssim(x.toType(ai.djl.ndarray.types.DataType.FLOAT64, false),
          y.toType(ai.djl.ndarray.types.DataType.FLOAT64, false)), REL, "ssim from float64 arrays");
    }
  }

  @Test
  void psnr8BitEqualsFloatPsnrOfScaledSamples() {
    byte[] a = cases.get("pair0.x_u8").toByteArray();
    byte[] b = new byte[a.length];
    float[] af = new float[a.length];
    float[] bf = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      int v = a[i] & 0xff;
      int u = Math.min(255, Math.max(0, v + (i % 7) - 3));
      b[i] = (byte) u;
      af[i] = v / 255f;
      bf[i] = u / 255f;
    }
    // Independent reference: mse of integer differences, written out directly.
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      double d = (a[i] & 0xff) - (b[i] & 0xff);
      s += d * d;
    }
    double expected = 10 * Math.log10(255.0 * 255.0 / (s / a.length));
    assertRel(expected, Psnr.psnr8(a, b), 1e-12, "psnr8");
    assertRel(expected, Psnr.psnr(af, bf), 1e-6, "psnr float of u8/255");
    double[] per = Psnr.psnr8PerImage(concat(a, a), concat(b, a), 2);
    assertRel(expected, per[0], 1e-12, "per image 0");
    assertEquals(Double.POSITIVE_INFINITY, per[1]);
    assertArrayEquals(new double[] {expected}, Psnr.psnrPerImage(af, bf, 1), expected * 1e-6);
  }

  @Test
  void msSsimRejectsShortSideOf160WithATypedError() {
    int h = 160, w = 300;
    float[] x = new float[3 * h * w];
    ImageTooSmallException e =
        assertThrows(ImageTooSmallException.class, () -> MsSsim.msSsim(x, x, 1, 3, h, w));
    assertEquals(160, e.shortSide());
    float[] ok = new float[3 * 161 * 161];
    assertEquals(1.0, MsSsim.msSsim(ok, ok, 1, 3, 161, 161), 1e-12); // 161 is accepted; identical -> 1
    assertThrows(MetricException.class, () -> MsSsim.ssim(x, new float[5], 1, 3, h, w));
  }

  private static float[] concat(float[] a, float[] b) {
    float[] r = new float[a.length + b.length];
    System.arraycopy(a, 0, r, 0, a.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] r = new byte[a.length + b.length];
    System.arraycopy(a, 0, r, 0, a.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }
}
