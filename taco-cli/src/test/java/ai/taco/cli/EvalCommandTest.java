package ai.taco.cli;

import static ai.taco.cli.CliTesting.readCsv;
import static ai.taco.cli.CliTesting.taco;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.weights.SafeTensors;
import ai.taco.core.testing.Golden;
import ai.taco.eval.bench.RgbImage;
import ai.taco.metrics.Pieapp;
import ai.taco.metrics.PieappTesting;
import ai.taco.cli.CliTesting.Run;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * `taco eval` end to end through the picocli command line, on three Kodak crops, checked against an independent
 * computation for one image (bpp from the bitstream file's size, PSNR in plain Java).
 */
class EvalCommandTest {

  static final String[] IMAGES = CliTesting.KODAK_IMAGES;
  static final int H = CliTesting.H;
  static final int W = CliTesting.W;

  @TempDir static Path tmp;

  static Path kodak;
  static Path captions;

  @BeforeAll
  static void cropKodak() throws Exception {
    CliTesting.KodakCrops k = CliTesting.kodakCrops(tmp);
    kodak = k.images();
    captions = k.captions();
  }





  static double psnr(Path a, Path b) throws Exception {
    BufferedImage x = ImageIO.read(a.toFile());
    BufferedImage y = ImageIO.read(b.toFile());
    double s = 0;
    for (int r = 0; r < x.getHeight(); r++) {
      for (int c = 0; c < x.getWidth(); c++) {
        int p = x.getRGB(c, r);
        int q = y.getRGB(c, r);
        for (int shift = 0; shift <= 16; shift += 8) {
          double d = (((p >> shift) & 255) - ((q >> shift) & 255)) / 255.0;
          s += d * d;
        }
      }
    }
    return -10 * Math.log10(s / (3.0 * x.getWidth() * x.getHeight()));
  }

  @Test
  void jpegSweepWritesCsvSummaryPlotsThatAgreeWithAnIndependentComputation() throws Exception {
    Path out = tmp.resolve("results-jpeg");
    Run r = taco("eval", "--dataset", kodak.toString(), "--captions", captions.toString(), "--dataset-name", "kodak",
        "--jpeg-quality", "25,75", "--keep-bitstreams", "--save-reconstructions", "--no-progress",
        "--out", out.toString());
    assertEquals(0, r.exit(), r.err());

    List<Map<String, String>> rows = readCsv(out.resolve("per_image.csv"));
    assertEquals(2 * IMAGES.length, rows.size());
    Map<String, String> row = rows.stream()
        .filter(m -> m.get("image").equals("kodim07.png") && m.get("setting").equals("q=25")).findFirst()
        .orElseThrow();
    Path bits = out.resolve("bitstreams/JPEG_q=25/kodim07.jpg");
    long size = Files.size(bits);
    assertEquals(Long.toString(size), row.get("bytes"));
    assertEquals(8.0 * size / (H * W), Double.parseDouble(row.get("bpp")), 1e-12);
    // JPEG decodes to 8-bit pixels, so PSNR from the kept bitstream equals the CSV value (up to the float32
    // samples the runner works with).
    double expected = psnr(kodak.resolve("kodim07.png"), bits);
    assertEquals(expected, Double.parseDouble(row.get("psnr")), 1e-5);
    assertEquals(expected, psnr(kodak.resolve("kodim07.png"), out.resolve("reconstructions/JPEG_q=25/kodim07.png")),
        1e-12);
    assertEquals("none", row.get("text_source"));

    JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
    assertEquals(new ObjectMapper().readTree(r.out()), summary, "stdout carries the summary JSON");
    assertEquals(IMAGES.length, summary.get("images").asInt());
    JsonNode q25 = summary.get("points").get(0);
    assertEquals("q=25", q25.get("setting").asText());
    double meanBpp = rows.stream().filter(m -> m.get("setting").equals("q=25"))
        .mapToDouble(m -> Double.parseDouble(m.get("bpp"))).average().orElseThrow();
    assertEquals(meanBpp, q25.get("bpp").asDouble(), 1e-12);
    assertTrue(summary.get("points").get(1).get("psnr").asDouble() > q25.get("psnr").asDouble());

    String md = Files.readString(out.resolve("summary.md"));
    assertTrue(md.contains("| JPEG | q=25 | 3 |"), md);
    assertTrue(md.contains("| VTM | 3 | 0.4905 | 34.262 | 0.9781 |"), "published Kodak points: " + md);
    for (String plot : List.of("rd_psnr.png", "rd_ms_ssim.png")) {
      BufferedImage png = ImageIO.read(out.resolve(plot).toFile());
      assertTrue(png.getWidth() > 100 && png.getHeight() > 100, plot);
    }
  }

  /** --pieapp-weights adds a pieapp column: piq's PieAPP(x = reconstruction, y = original) of each pair. */
  @Test
  void pieappColumnWithItsWeights() throws Exception {
    Path weights = tmp.resolve("pieapp.safetensors");
    SafeTensors.write(weights, PieappTesting.randomWeights(), Map.of());
    Path out = tmp.resolve("results-pieapp");
    Run r = taco("eval", "--dataset", kodak.toString(), "--captions", captions.toString(), "--jpeg-quality", "30",
        "--limit", "1", "--pieapp-weights", weights.toString(), "--save-reconstructions", "--no-progress",
        "--out", out.toString());
    assertEquals(0, r.exit(), r.err());
    List<Map<String, String>> rows = readCsv(out.resolve("per_image.csv"));
    assertEquals(1, rows.size());
    String name = rows.get(0).get("image");
    // JPEG decodes to 8-bit pixels, so the saved reconstruction is exactly what was measured.
    RgbImage x = RgbImage.read(kodak.resolve(name));
    RgbImage y = RgbImage.read(out.resolve("reconstructions/JPEG_q=30/" + name));
    double expected;
    try (Pieapp pieapp = Pieapp.load(weights); NDManager m = NDManager.newBaseManager()) {
      Shape s = new Shape(1, 3, x.height(), x.width());
      expected = pieapp.scores(m.create(y.planes(), s), m.create(x.planes(), s))[0];
    }
    assertEquals(expected, Double.parseDouble(rows.get(0).get("pieapp")), 1e-6 * Math.abs(expected));
    Files.delete(weights);
  }

  /** MS-COCO 30k path: list + COCO captions file, prepared (center crop 256) into OUT/prepared, then evaluated. */
  @Test
  void cocoListIsPreparedAndEvaluated() throws Exception {
    Path list = tmp.resolve("coco-list.json");
    Files.writeString(list, "[\"COCO_val2014_000000000802.jpg\", \"COCO_val2014_000000000139.jpg\"]");
    Path out = tmp.resolve("results-coco");
    Path coco = Golden.data("train-sample/coco");
    Run r = taco("eval", "--dataset", coco.resolve("val2017").toString(), "--coco-list", list.toString(),
        "--captions", coco.resolve("annotations/captions_val2017.json").toString(), "--jpeg-quality", "50",
        "--no-progress", "--out", out.toString());
    assertEquals(0, r.exit(), r.err());
    JsonNode summary = new ObjectMapper().readTree(r.out());
    assertEquals("coco30k", summary.get("dataset").asText());
    assertEquals(2, summary.get("images").asInt());
    assertTrue(summary.get("notes").toString().contains("smallest annotation id"), summary.get("notes").toString());
    List<Map<String, String>> rows = readCsv(out.resolve("per_image.csv"));
    assertEquals("COCO_val2014_000000000139.png", rows.get(0).get("image"));
    assertEquals("256", rows.get(0).get("width"));
    assertEquals("256", rows.get(0).get("height"));
    String md = Files.readString(out.resolve("summary.md"));
    assertTrue(md.contains("| TACO (paper) |  | 0.2260 | 0.0250 |"), "the paper's MS-COCO 30k point: " + md);
    BufferedImage prepared = ImageIO.read(out.resolve("prepared/images/COCO_val2014_000000000802.png").toFile());
    assertEquals(256, prepared.getWidth());
  }

  @Test
  void refusesToOverwriteWithoutForce() throws Exception {
    Path out = Files.createDirectories(tmp.resolve("results-force"));
    Path mine = Files.writeString(out.resolve("mine.txt"), "keep me");
    String[] args = {"eval", "--dataset", kodak.toString(), "--jpeg-quality", "50", "--no-progress", "--limit", "1",
        "--out", out.toString()};
    Run r = taco(args);
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("--force"), r.err());
    assertFalse(Files.exists(out.resolve("per_image.csv")));
    List<String> forced = new ArrayList<>(List.of(args));
    forced.add("--force");
    r = taco(forced.toArray(String[]::new));
    assertEquals(0, r.exit(), r.err());
    assertTrue(Files.exists(out.resolve("per_image.csv")));
    assertEquals("keep me", Files.readString(mine));
  }

  @Test
  void badOptionsGiveOneClearLine() {
    Run r = taco("eval", "--dataset", kodak.toString(), "--caption-mode", "sometimes", "--out",
        tmp.resolve("r3").toString());
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("--caption-mode"), r.err());
    r = taco("eval", "--dataset", tmp.resolve("nowhere").toString(), "--out", tmp.resolve("r4").toString());
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("not found"), r.err());
  }
}
