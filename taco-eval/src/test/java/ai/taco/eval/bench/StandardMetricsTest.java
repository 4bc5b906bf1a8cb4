package ai.taco.eval.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.metrics.ImageTooSmallException;
import ai.taco.metrics.Lpips;
import ai.taco.metrics.MsSsim;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The adapters that feed RgbImages to ai.taco.metrics, checked against the golden reference values. */
class StandardMetricsTest {

  static RgbImage image(HostTensor t) {
    long[] s = t.shape();
    float[] v = t.toFloatArray();
    if (t.dataType() == ai.djl.ndarray.types.DataType.UINT8) {
      for (int i = 0; i < v.length; i++) {
        v[i] /= 255f;
      }
    }
    return new RgbImage((int) s[3], (int) s[2], v);
  }

  @Test
  void lpipsUsesTacosInputConventionByDefaultAndTheOfficialArgumentOrder() {
    Map<String, HostTensor> g = Golden.tensors("lpips/lpips-cases.safetensors");
    RgbImage x0 = image(g.get("pair0.x0_u8"));
    RgbImage x1 = image(g.get("pair0.x1"));
    try (StandardMetrics quirk = StandardMetrics.open(List.of(Golden.golden("lpips/lpips-alex-randtrunk.safetensors")),
            Lpips.InputConvention.TACO_QUIRK, null, null);
        StandardMetrics standard = StandardMetrics.open(List.of(Golden.golden("lpips/lpips-alex-randtrunk.safetensors")),
            Lpips.InputConvention.STANDARD, null, null)) {
      ImageMetric lq = quirk.imageMetrics().get(2);
      assertEquals("lpips", lq.name());
      assertEquals(g.get("pair0.lpips_taco01").toFloatArray()[0], lq.compute(x0, x1), 1e-5);
      assertEquals(g.get("pair0.lpips_m11").toFloatArray()[0], standard.imageMetrics().get(2).compute(x0, x1), 1e-5);
      assertTrue(quirk.notes().stream().anyMatch(n -> n.contains("[0,1]")));
    }
  }

  @Test
  void psnrAndMsSsimMatchPytorchMsssimGoldens() {
    Map<String, HostTensor> g = Golden.tensors("msssim/msssim-cases.safetensors");
    try (StandardMetrics m = StandardMetrics.open(List.of(), Lpips.InputConvention.TACO_QUIRK, null, null)) {
      assertEquals(2, m.imageMetrics().size());
      for (String pair : new String[] {"pair1", "pair3"}) {
        RgbImage x = image(g.get(pair + ".x_u8"));
        RgbImage y = image(g.get(pair + ".y"));
        assertEquals(g.get(pair + ".ms_ssim").toFloatArray()[0], m.imageMetrics().get(1).compute(x, y), 2e-6, pair);
        double se = 0;
        for (int i = 0; i < x.planes().length; i++) {
          double d = (double) x.planes()[i] - y.planes()[i];
          se += d * d;
        }
        assertEquals(-10 * Math.log10(se / x.planes().length), m.imageMetrics().get(0).compute(x, y), 1e-9);
      }
    }
  }

  /** Images with a side of 160 or less take TACO's fallback: both resized with Resize(256) (bilinear) first. */
  @Test
  void msSsimFallsBackToResize256ForSmallImages() {
    RgbImage x = RgbImage.read(Golden.data("kodak/kodim05.png")).crop(100, 100, 128, 192);
    RgbImage y = new JpegCodec(30).decode(new JpegCodec(30).encode(x, null));
    assertThrows(ImageTooSmallException.class, () -> MsSsim.msSsim(x.planes(), y.planes(), 1, 3, 128, 192));
    double v = new StandardMetrics.MsSsimMetric().compute(x, y);
    RgbImage xs = Coco30k.resizeShorterSide(x, 256, Coco30k.BILINEAR);
    assertEquals(256, xs.height());
    assertEquals(384, xs.width());
    assertTrue(v > 0.8 && v < 1, "ms-ssim " + v);
  }
}
