package ai.taco.eval.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The row-by-row per-image CSV: flushed per row, read back exactly, and what a crash leaves is repaired. */
class PerImageCsvTest {

  static final List<String> METRICS = List.of("psnr", "lpips");

  static EvalResults.ImageResult result(String image, double psnr) {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("psnr", psnr);
    m.put("lpips", 0.1 + psnr / 1000);
    return new EvalResults.ImageResult("TACO", "ckpt,1", image, 768, 512, 12345, 8.0 * 12345 / (768 * 512), m,
        "zeros, \"quoted\"");
  }

  @Test
  void everyRowIsInTheFileAsSoonAsItIsWrittenAndReadsBackExactly(@TempDir Path tmp) throws Exception {
    Path f = tmp.resolve("per_image.csv");
    List<EvalResults.ImageResult> rows = List.of(result("a.png", 31.123456789012345),
        result("b.png", Double.POSITIVE_INFINITY), result("c.png", Double.NaN));
    try (PerImageCsv csv = PerImageCsv.create(f, METRICS)) {
      for (int i = 0; i < rows.size(); i++) {
        csv.write(rows.get(i));
        // Still open: the row must already be in the file.
        assertEquals(i + 2, Files.readAllLines(f).size());
      }
    }
    assertEquals("codec,setting,image,width,height,bytes,bpp,psnr,lpips,text_source", Files.readAllLines(f).get(0));
    assertEquals(rows, PerImageCsv.read(f, METRICS));
  }

  @Test
  void anIncompleteLastLineIsDroppedFromTheFile(@TempDir Path tmp) throws Exception {
    Path f = tmp.resolve("per_image.csv");
    try (PerImageCsv csv = PerImageCsv.create(f, METRICS)) {
      csv.write(result("a.png", 30));
      csv.write(result("b.png", 31));
    }
    String complete = Files.readString(f);
    Files.writeString(f, "TACO,\"ckpt,1\",c.png,768,51", StandardOpenOption.APPEND);
    assertEquals(List.of(result("a.png", 30), result("b.png", 31)), PerImageCsv.read(f, METRICS));
    assertEquals(complete, Files.readString(f), "the partial line is cut off the file");
    // Appending after the repair continues cleanly.
    try (PerImageCsv csv = PerImageCsv.append(f, METRICS)) {
      csv.write(result("c.png", 32));
    }
    assertEquals(3, PerImageCsv.read(f, METRICS).size());

    // A terminated last line that is not a row (e.g. zeros left by an OS crash) is dropped too.
    Files.write(f, new byte[] {0, 0, 0, '\n'}, StandardOpenOption.APPEND);
    assertEquals(3, PerImageCsv.read(f, METRICS).size());
  }

  @Test
  void damageBeforeTheLastLineOrOtherColumnsAreErrors(@TempDir Path tmp) throws Exception {
    Path f = tmp.resolve("per_image.csv");
    String header = "codec,setting,image,width,height,bytes,bpp,psnr,lpips,text_source\n";
    Files.writeString(f, header + "TACO,s,a.png,1,1,1,8.0,x,0.1,none\nTACO,s,b.png,1,1,1,8.0,30,0.1,none\n");
    BenchmarkException e = assertThrows(BenchmarkException.class, () -> PerImageCsv.read(f, METRICS));
    assertTrue(e.getMessage().contains("row 1"), e.getMessage());
    Files.writeString(f, header);
    e = assertThrows(BenchmarkException.class, () -> PerImageCsv.read(f, List.of("psnr")));
    assertTrue(e.getMessage().contains("columns"), e.getMessage());
  }

  @Test
  void aHalfWrittenHeaderOrNoFileMeansNoRows(@TempDir Path tmp) throws Exception {
    Path f = tmp.resolve("per_image.csv");
    assertEquals(List.of(), PerImageCsv.read(f, METRICS));
    Files.writeString(f, "codec,sett");
    assertEquals(List.of(), PerImageCsv.read(f, METRICS));
    assertEquals("codec,setting,image,width,height,bytes,bpp,psnr,lpips,text_source\n",
        Files.readString(f, StandardCharsets.UTF_8));
  }
}
