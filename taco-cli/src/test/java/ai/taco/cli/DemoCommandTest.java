package ai.taco.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.testing.Golden;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoCommandTest {
  @TempDir Path tmp;

  private static String[] run(String... args) {
    return CliTesting.taco(args).asArray();
  }

  @Test
  void reportsRateAndQualityOfTheFilesItWrites() throws Exception {
    Path png = Golden.golden("taco-small/img0_64x64.png");
    Path out = tmp.resolve("demo");
    String[] r =
        run("demo", "--weights", Golden.tacoSmallWeights().toString(), "--preset", "small",
            "--in", png.toString(), "--out", out.toString());
    assertEquals("0", r[0], r[2]);
    JsonNode j = new ObjectMapper().readTree(r[1]);
    Path compressed = Path.of(j.get("compressed").asText());
    Path decoded = Path.of(j.get("decoded").asText());
    assertTrue(compressed.startsWith(out) && decoded.startsWith(out));
    assertEquals(Files.size(compressed) * 8.0 / (64 * 64), j.get("bpp").asDouble(), 1e-12);
    // PSNR recomputed independently from the two 8-bit PNGs.
    BufferedImage a = ImageIO.read(png.toFile());
    BufferedImage b = ImageIO.read(decoded.toFile());
    double se = 0;
    for (int y = 0; y < 64; y++) {
      for (int x = 0; x < 64; x++) {
        int p = a.getRGB(x, y);
        int q = b.getRGB(x, y);
        for (int shift = 0; shift <= 16; shift += 8) {
          double d = (((p >> shift) & 0xff) - ((q >> shift) & 0xff)) / 255.0;
          se += d * d;
        }
      }
    }
    assertEquals(-10 * Math.log10(se / (3 * 64 * 64)), j.get("psnr_db").asDouble(), 1e-6);
    assertTrue(j.get("ms_ssim") == null, "MS-SSIM is undefined below 161 px");
    // The file decodes with the ordinary command too.
    String[] d =
        run("decompress", "--weights", Golden.tacoSmallWeights().toString(), "--preset",
            "small", "--in", compressed.toString(), "--out", tmp.resolve("again.png").toString());
    assertEquals("0", d[0], d[2]);
    assertEquals(-1L, Files.mismatch(decoded, tmp.resolve("again.png")));

    String[] again =
        run("demo", "--weights", Golden.tacoSmallWeights().toString(), "--preset", "small",
            "--in", png.toString(), "--out", out.toString());
    assertNotEquals("0", again[0]);
    assertTrue(again[2].contains("exists"), again[2]);
  }
}
