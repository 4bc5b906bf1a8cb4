package ai.taco.eval.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReferencePointsTest {

  @Test
  void builtinHoldsCompressAiElicAndVtmKodakPointsWithSources() {
    List<ReferencePoints.Point> all = ReferencePoints.builtin();
    List<ReferencePoints.Point> kodak = ReferencePoints.forDataset(all, "Kodak");
    assertEquals(all.size(), kodak.size());
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
    for (ReferencePoints.Point p : all) {
      assertTrue(p.source().contains("InterDigitalInc/CompressAI@"), p.source());
      assertFalse(p.metrics().isEmpty());
    }
    assertTrue(ReferencePoints.forDataset(all, "clic").isEmpty());
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
