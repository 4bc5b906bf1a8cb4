package ai.taco.eval.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResultsWriterTest {

  static EvalResults sample() {
    Map<String, Double> m1 = new LinkedHashMap<>();
    m1.put("psnr", 31.123456789012345);
    m1.put("lpips", 0.25);
    Map<String, Double> m2 = new LinkedHashMap<>();
    m2.put("psnr", 28.5);
    m2.put("lpips", 0.375);
    Map<String, Double> s = new LinkedHashMap<>();
    s.put("psnr", (31.123456789012345 + 28.5) / 2);
    s.put("lpips", 0.3125);
    s.put("fid", 12.5);
    EvalResults.Info info = new EvalResults.Info("kodak", 2, "dataset", "zeros, test", false,
        List.of("psnr", "lpips"), List.of("fid"), List.of("a note, with a comma"));
    return new EvalResults(info,
        List.of(new EvalResults.ImageResult("TACO", "ckpt,1", "a.png", 768, 512, 12345, 8.0 * 12345 / (768 * 512),
                m1, "zeros, test"),
            new EvalResults.ImageResult("TACO", "ckpt,1", "b.png", 512, 768, 23456, 8.0 * 23456 / (768 * 512), m2,
                "zeros, test")),
        List.of(new EvalResults.PointSummary("TACO", "ckpt,1", 2, (8.0 * 12345 + 8.0 * 23456) / (2 * 768 * 512), s)));
  }

  @Test
  void csvHasOneQuotedRowPerImageWithFullPrecision(@TempDir Path tmp) throws Exception {
    Path f = tmp.resolve("x.csv");
    ResultsWriter.writeCsv(sample(), f);
    List<String> lines = Files.readAllLines(f);
    assertEquals(3, lines.size());
    assertEquals("codec,setting,image,width,height,bytes,bpp,psnr,lpips,text_source", lines.get(0));
    assertEquals("TACO,\"ckpt,1\",a.png,768,512,12345," + (8.0 * 12345 / (768 * 512))
        + "," + 31.123456789012345 + ",0.25,\"zeros, test\"", lines.get(1));
  }

  @Test
  void jsonAndMarkdownCarryInfoAndSummaries(@TempDir Path tmp) throws Exception {
    List<Path> files = ResultsWriter.writeAll(sample(), tmp);
    assertEquals(3, files.size());
    JsonNode j = new ObjectMapper().readTree(tmp.resolve(ResultsWriter.SUMMARY_JSON).toFile());
    assertEquals("kodak", j.get("dataset").asText());
    assertFalse(j.get("captions_used").asBoolean());
    assertEquals("zeros, test", j.get("text_source").asText());
    JsonNode p = j.get("points").get(0);
    assertEquals("ckpt,1", p.get("setting").asText());
    assertEquals((8.0 * 12345 + 8.0 * 23456) / (2 * 768 * 512), p.get("bpp").asDouble());
    assertEquals(12.5, p.get("fid").asDouble());
    String md = Files.readString(tmp.resolve(ResultsWriter.SUMMARY_MD));
    assertTrue(md.contains("| codec | setting | images | bpp | PSNR (dB) | LPIPS | FID |"), md);
    assertTrue(md.contains("| TACO | ckpt,1 | 2 | 0.3642 | 29.812 | 0.3125 | 12.500 |"), md);
    assertTrue(md.contains("- a note, with a comma"), md);
  }

  /** {@link #sample()} as if run on another dataset. */
  static EvalResults sampleOn(String dataset) {
    EvalResults r = sample();
    EvalResults.Info i = r.info();
    return new EvalResults(new EvalResults.Info(dataset, i.images(), i.captionMode(), i.textSource(),
        i.captionsUsed(), i.metrics(), i.setMetrics(), i.notes()), r.images(), r.points());
  }

  @Test
  void markdownListsThePublishedPointsOfTheRunsDatasetWithTheirSources(@TempDir Path tmp) throws Exception {
    List<ReferencePoints.Point> all = ReferencePoints.builtin();
    ResultsWriter.writeAll(sampleOn("coco30k"), ReferencePoints.forDataset(all, "coco30k"), tmp);
    String md = Files.readString(tmp.resolve(ResultsWriter.SUMMARY_MD));
    // The measured row, then the paper's Section 4.2 points under the column they share with it (LPIPS).
    assertTrue(md.contains("| TACO | ckpt,1 | 2 | 0.3642 | 29.812 | 0.3125 | 12.500 |"), md);
    assertTrue(md.contains("| codec | setting | bpp | LPIPS | source |"), md);
    assertTrue(md.contains("| TACO (paper) |  | 0.2260 | 0.0250 | TACO paper (Lee et al., ICML 2024, "
        + "arXiv:2403.02944), Section 4.2 |"), md);
    assertTrue(md.contains("| HiFiC (TACO paper) |  | 0.2330 | 0.0530 |"), md);
    assertTrue(md.indexOf("| TACO | ckpt,1 |") < md.indexOf("| TACO (paper) |"), md);
    assertFalse(md.contains("VTM"), "Kodak points are not shown for MS-COCO");

    // Quantities no run measures (Table 1's text similarity) get their own columns.
    ResultsWriter.writeAll(sampleOn("clic"), ReferencePoints.forDataset(all, "clic"), tmp);
    md = Files.readString(tmp.resolve(ResultsWriter.SUMMARY_MD));
    assertTrue(md.contains("| codec | setting | bpp | BLEU-4 | CIDEr-D | SPICE | source |"), md);
    assertTrue(md.contains("| MS-ILLM (TACO paper) |  | 0.2314 | 0.8500 | 8.3900 | 0.8700 | TACO paper"), md);

    // Latency (Table 2) with the measured PSNR/LPIPS columns of Table 3 first.
    ResultsWriter.writeAll(sampleOn("coco100"), ReferencePoints.forDataset(all, "coco100"), tmp);
    md = Files.readString(tmp.resolve(ResultsWriter.SUMMARY_MD));
    assertTrue(md.contains("| codec | setting | bpp | PSNR (dB) | LPIPS | encode (ms) | decode (ms) | total (ms) |"
        + " source |"), md);
    assertTrue(md.contains("| TACO (paper) |  | 0.0148 | - | - | 78.60 | 102.98 | 181.58 |"), md);
    assertTrue(md.contains("| TACO (paper; GPT-4 captions) |  | 0.0148 | 27.420 | 0.0435 | - | - | - |"), md);

    // Without published points for the dataset the section is absent.
    ResultsWriter.writeAll(sampleOn("mine"), ReferencePoints.forDataset(all, "mine"), tmp);
    assertFalse(Files.readString(tmp.resolve(ResultsWriter.SUMMARY_MD)).contains("Published points"));
  }

  @Test
  void publishedQuantitiesThatAreNotDistortionsAreNotPlotted(@TempDir Path tmp) {
    List<Path> plots = RdPlot.writeAll(sampleOn("coco100"),
        ReferencePoints.forDataset(ReferencePoints.builtin(), "coco100"), tmp);
    assertEquals(List.of("rd_psnr.png", "rd_lpips.png", "rd_fid.png"),
        plots.stream().map(p -> p.getFileName().toString()).toList());
  }

  @Test
  void plotsOnePngPerMetricWithValues(@TempDir Path tmp) throws Exception {
    List<Path> plots = RdPlot.writeAll(sample(), ReferencePoints.forDataset(ReferencePoints.builtin(), "kodak"), tmp);
    // psnr, lpips, fid measured; ms_ssim only from the references.
    assertEquals(List.of("rd_psnr.png", "rd_lpips.png", "rd_fid.png", "rd_ms_ssim.png"),
        plots.stream().map(p -> p.getFileName().toString()).toList());
    BufferedImage img = ImageIO.read(plots.get(0).toFile());
    assertEquals(900, img.getWidth());
    assertEquals(640, img.getHeight());
  }
}
