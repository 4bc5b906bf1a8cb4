package ai.taco.eval.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReferencePointsTest {

  /** Citation every row transcribed from the TACO paper starts with. */
  private static final String PAPER = "TACO paper (Lee et al., ICML 2024, arXiv:2403.02944), ";

  @Test
  void builtinHoldsCompressAiElicAndVtmKodakPointsWithSources() {
    List<ReferencePoints.Point> all = ReferencePoints.builtin();
    List<ReferencePoints.Point> kodak = ReferencePoints.forDataset(all, "Kodak");
    assertEquals(20, kodak.size());
    List<ReferencePoints.Point> elic =
        kodak.stream().filter(p -> p.codec().startsWith("ELIC") && p.metrics().containsKey("psnr")).toList();
    List<ReferencePoints.Point> vtm = kodak.stream().filter(p -> p.codec().equals("VTM")).toList();
    // Values as published in CompressAI results/image/kodak/paper-elic2022_mse.json and vtm.json.
    assertEquals(6, elic.size());
    assertEquals(0.1235, elic.get(0).bpp());
    assertEquals(29.113, elic.get(0).metrics().get("psnr"));
    assertEquals(0.8573, elic.get(5).bpp());
    assertEquals(37.624, elic.get(5).metrics().get("psnr"));
    assertEquals(8, vtm.size());
    assertEquals(0.4905454847547744, vtm.get(3).bpp());
    assertEquals(34.26153257289846, vtm.get(3).metrics().get("psnr"));
    assertEquals(0.9780782933036486, vtm.get(3).metrics().get("ms_ssim"));
    // ELIC's MS-SSIM file is in dB: 11.593 dB = 1 - 10^(-1.1593).
    ReferencePoints.Point ms = kodak.stream().filter(p -> p.codec().contains("MS-SSIM")).findFirst().orElseThrow();
    assertEquals(1 - Math.pow(10, -1.1593), ms.metrics().get("ms_ssim"), 1e-6);
    for (ReferencePoints.Point p : kodak) {
      assertTrue(p.source().contains("InterDigitalInc/CompressAI@"), p.source());
      assertFalse(p.metrics().isEmpty());
    }
  }

  @Test
  void builtinHoldsEveryNumberOfThePaperTextWithItsCitation() {
    List<ReferencePoints.Point> all = ReferencePoints.builtin();
    List<ReferencePoints.Point> paper = all.stream().filter(p -> p.source().startsWith(PAPER)).toList();
    // Section 4.2: 2 points; Table 1: 4 codecs; Table 2: 4 codecs; Table 3: 4 caption sources.
    assertEquals(14, paper.size());
    assertEquals(all.size(), 20 + paper.size(), "every row is CompressAI's or the paper's");
    for (ReferencePoints.Point p : paper) {
      String cite = p.source().substring(PAPER.length());
      assertTrue(cite.matches("(Section 4\\.2|Table [123])\\b.*"), p.source());
    }

    // Section 4.2, MS-COCO 30k: TACO 0.025 LPIPS at 0.226 bpp, HiFiC 0.053 at 0.233.
    List<ReferencePoints.Point> coco = ReferencePoints.forDataset(all, "coco30k");
    assertEquals(2, coco.size());
    assertPoint(coco.get(0), "TACO (paper)", 0.226, Map.of("lpips", 0.025), "Section 4.2");
    assertPoint(coco.get(1), "HiFiC (TACO paper)", 0.233, Map.of("lpips", 0.053), "Section 4.2");

    // Table 1, CLIC: BLEU-4, CIDEr-D, SPICE of OFA captions, bpp in brackets.
    List<ReferencePoints.Point> clic = ReferencePoints.forDataset(all, "CLIC");
    assertEquals(4, clic.size());
    assertPoint(clic.get(0), "LIC-TCM (TACO paper)", 0.2810, Map.of("bleu4", 0.76, "cider_d", 7.44, "spice", 0.80),
        "Table 1");
    assertPoint(clic.get(1), "MS-ILLM (TACO paper)", 0.2314, Map.of("bleu4", 0.85, "cider_d", 8.39, "spice", 0.87),
        "Table 1");
    assertPoint(clic.get(2), "ELIC (TACO paper)", 0.3055, Map.of("bleu4", 0.78, "cider_d", 7.58, "spice", 0.81),
        "Table 1");
    assertPoint(clic.get(3), "TACO (paper)", 0.2146, Map.of("bleu4", 0.84, "cider_d", 8.21, "spice", 0.86),
        "Table 1");

    // Tables 2 and 3, 100 MS-COCO validation images at the 0.0148 bpp the captions print.
    List<ReferencePoints.Point> c100 = ReferencePoints.forDataset(all, "coco100");
    assertEquals(8, c100.size());
    assertPoint(c100.get(0), "LIC-TCM (TACO paper)", 0.0148,
        Map.of("encode_ms", 112.07, "decode_ms", 125.26, "total_ms", 237.33), "Table 2");
    assertPoint(c100.get(1), "MS-ILLM (TACO paper)", 0.0148,
        Map.of("encode_ms", 70.39, "decode_ms", 53.74, "total_ms", 124.14), "Table 2");
    assertPoint(c100.get(2), "ELIC (TACO paper)", 0.0148,
        Map.of("encode_ms", 71.35, "decode_ms", 102.07, "total_ms", 173.42), "Table 2");
    assertPoint(c100.get(3), "TACO (paper)", 0.0148,
        Map.of("encode_ms", 78.60, "decode_ms", 102.98, "total_ms", 181.58), "Table 2");
    String[] captions = {"Human", "OFA", "BLIP-2", "GPT-4"};
    double[] psnr = {27.42, 27.41, 27.41, 27.42};
    for (int i = 0; i < 4; i++) {
      assertPoint(c100.get(4 + i), "TACO (paper; " + captions[i] + " captions)", 0.0148,
          Map.of("lpips", 0.0435, "psnr", psnr[i]), "Table 3");
    }
    // Table 2's total is the sum of its parts (a transcription check; each part is rounded to 0.01 ms, so the sum
    // may differ from the printed total by one unit: MS-ILLM 70.39 + 53.74 = 124.13, printed 124.14).
    for (ReferencePoints.Point p : c100.subList(0, 4)) {
      Map<String, Double> m = p.metrics();
      assertEquals(m.get("total_ms"), m.get("encode_ms") + m.get("decode_ms"), 0.0101, p.codec());
    }
  }

  private static void assertPoint(ReferencePoints.Point p, String codec, double bpp, Map<String, Double> metrics,
      String citation) {
    assertEquals(codec, p.codec());
    assertEquals(bpp, p.bpp(), 0.0, codec);
    assertEquals(metrics, p.metrics(), codec);
    assertTrue(p.source().startsWith(PAPER + citation), p.source());
  }

  @Test
  void quantityColumnsAreMatchedByNameAndMayBeOmitted(@TempDir Path tmp) throws Exception {
    // A file in another column order, with only some quantities, one of them not a rate-distortion metric.
    Path f = tmp.resolve("r.csv");
    Files.writeString(f, "source,codec,dataset,bpp,Encode_ms,lpips\n"
        + "\"table 9\",X,coco100,0.1,50.5,\n"
        + "\"table 9\",Y,coco100,0.2,,0.04\n");
    List<ReferencePoints.Point> p = ReferencePoints.read(f);
    assertEquals(Map.of("encode_ms", 50.5), p.get(0).metrics());
    assertEquals("", p.get(0).setting());
    assertEquals(Map.of("lpips", 0.04), p.get(1).metrics());
  }

  @Test
  void readsUserFileWithQuotesAndComments(@TempDir Path tmp) throws Exception {
    Path f = tmp.resolve("r.csv");
    Files.writeString(f, "# my points\ndataset,codec,setting,bpp,psnr,ms_ssim,lpips,fid,cmmd,source\n"
        + "CLIC,\"Mine, v2\",a,0.25,,,0.12,,,\"my paper, table 3\"\n");
    List<ReferencePoints.Point> p = ReferencePoints.read(f);
    assertEquals(1, p.size());
    assertEquals("clic", p.get(0).dataset());
    assertEquals("Mine, v2", p.get(0).codec());
    assertEquals(0.12, p.get(0).metrics().get("lpips"));
    assertEquals(1, p.get(0).metrics().size());
    assertEquals("my paper, table 3", p.get(0).source());
  }

  @Test
  void rejectsRowsWithoutSourceOrWithBadNumbers(@TempDir Path tmp) throws Exception {
    String head = "dataset,codec,setting,bpp,psnr,ms_ssim,lpips,fid,cmmd,source\n";
    Path noSource = tmp.resolve("a.csv");
    Files.writeString(noSource, head + "kodak,X,1,0.5,30,,,,,\n");
    BenchmarkException e = assertThrows(BenchmarkException.class, () -> ReferencePoints.read(noSource));
    assertTrue(e.getMessage().contains("source"), e.getMessage());
    Path badNumber = tmp.resolve("b.csv");
    Files.writeString(badNumber, head + "kodak,X,1,0.5,thirty,,,,,src\n");
    e = assertThrows(BenchmarkException.class, () -> ReferencePoints.read(badNumber));
    assertTrue(e.getMessage().contains("psnr"), e.getMessage());
    Path noMetric = tmp.resolve("c.csv");
    Files.writeString(noMetric, head + "kodak,X,1,0.5,,,,,,src\n");
    assertThrows(BenchmarkException.class, () -> ReferencePoints.read(noMetric));
  }
}
