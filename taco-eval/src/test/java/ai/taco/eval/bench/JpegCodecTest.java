package ai.taco.eval.bench;

import ai.taco.core.testing.Golden;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.util.Iterator;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class JpegCodecTest {

  private static final RgbImage KODIM = RgbImage.read(Golden.data("kodak/kodim23.png")).crop(100, 200, 192, 256);

  @Test
  void encodesRealJfifWhoseSizeAndQualityGrowWithQuality() throws Exception {
    JpegCodec low = new JpegCodec(20);
    JpegCodec high = new JpegCodec(90);
    byte[] a = low.encode(KODIM, null);
    byte[] b = high.encode(KODIM, null);
    // JFIF SOI marker and EOI marker.
    assertEquals((byte) 0xFF, a[0]);
    assertEquals((byte) 0xD8, a[1]);
    assertEquals((byte) 0xD9, a[a.length - 1]);
    assertTrue(b.length > 2 * a.length, "q90 should cost much more than q20: " + a.length + " vs " + b.length);

    double psnrLow = psnr(KODIM, low.decode(a));
    double psnrHigh = psnr(KODIM, high.decode(b));
    assertTrue(psnrHigh > psnrLow + 3, psnrLow + " vs " + psnrHigh);
    assertTrue(psnrHigh > 30 && psnrHigh < 60, "q90 on a natural image: " + psnrHigh);
    double bppHigh = 8.0 * b.length / (192 * 256);
    assertTrue(bppHigh > 0.5 && bppHigh < 8, "bpp " + bppHigh);
  }

  @Test
  void decodeMatchesAnIndependentImageIoDecode() throws Exception {
    JpegCodec c = new JpegCodec(50);
    byte[] bits = c.encode(KODIM, null);
    RgbImage mine = c.decode(bits);
    BufferedImage bi = ImageIO.read(new ByteArrayInputStream(bits));
    assertEquals(256, bi.getWidth());
    assertEquals(192, bi.getHeight());
    float[] expected = new float[3 * 256 * 192];
    for (int y = 0; y < 192; y++) {
      for (int x = 0; x < 256; x++) {
        int rgb = bi.getRGB(x, y);
        int i = y * 256 + x;
        expected[i] = ((rgb >> 16) & 255) / 255f;
        expected[256 * 192 + i] = ((rgb >> 8) & 255) / 255f;
        expected[2 * 256 * 192 + i] = (rgb & 255) / 255f;
      }
    }
    assertArrayEquals(expected, mine.planes());
  }

  /**
   * Independent check against the JPEG baseline as CompressAI makes it (Pillow/libjpeg, quality 10, standard tables,
   * 4:2:0; reference/jpeg/kodak-q10-pillow.json, one point per Kodak image the repository carries). The JDK encoder
   * uses the same IJG tables and subsampling, so the mean rate must agree to a fraction of a percent; PSNR differs
   * slightly because the decoders' colour conversions differ. (CompressAI's published 24-image mean is bpp 0.3266,
   * PSNR 26.577 dB at this quality.)
   */
  @Test
  void kodakRateMatchesPillowsJpegAtTheSameQuality() throws Exception {
    JsonNode ref = Golden.json("jpeg/kodak-q10-pillow.json");
    JpegCodec q10 = new JpegCodec(ref.get("quality").asInt());
    double bpp = 0;
    double psnr = 0;
    double refBpp = 0;
    double refPsnr = 0;
    int n = 0;
    for (Iterator<Map.Entry<String, JsonNode>> it = ref.get("images").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      RgbImage img = RgbImage.read(Golden.data("kodak/" + e.getKey()));
      byte[] bits = q10.encode(img, null);
      bpp += 8.0 * bits.length / ((double) img.width() * img.height());
      psnr += psnr(img, q10.decode(bits));
      refBpp += e.getValue().get("bpp").asDouble();
      refPsnr += e.getValue().get("psnr_rgb").asDouble();
      n++;
    }
    assertTrue(n >= 8, "reference points: " + n);
    assertEquals(refBpp / n, bpp / n, 0.002);
    assertEquals(refPsnr / n, psnr / n, 0.15);
  }

  @Test
  void rejectsBadQualityAndGarbage() {
    assertThrows(BenchmarkException.class, () -> new JpegCodec(0));
    assertThrows(BenchmarkException.class, () -> new JpegCodec(101));
    BenchmarkException e =
        assertThrows(BenchmarkException.class, () -> new JpegCodec(50).decode(new byte[] {1, 2, 3, 4}));
    assertTrue(e.getMessage().contains("JPEG"), e.getMessage());
  }

  /** Plain-Java PSNR with data range 1 over all samples. */
  static double psnr(RgbImage a, RgbImage b) {
    double s = 0;
    for (int i = 0; i < a.planes().length; i++) {
      double d = a.planes()[i] - b.planes()[i];
      s += d * d;
    }
    return 10 * Math.log10(1.0 / (s / a.planes().length));
  }
}
