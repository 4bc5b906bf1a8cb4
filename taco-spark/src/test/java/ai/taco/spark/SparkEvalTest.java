package ai.taco.spark;

import ai.taco.core.testing.Golden;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code taco-spark eval} in local mode against {@code taco eval} on the same inputs (golden small TACO checkpoint and
 * JPEG on three Kodak crops; PSNR, MS-SSIM, LPIPS, FID and CMMD on the golden networks): the same per_image.csv rows
 * (bpp exactly, metrics to 1e-9 relative) and FID/CMMD to 1e-6 relative, with the first attempt of one partition
 * failed on purpose (Spark retries it; a duplicate or missing row would break the equality).
 */
class SparkEvalTest {

  static final List<String> IMAGES = List.of("kodim03.png", "kodim07.png", "kodim15.png");

  /** Leading columns compared exactly; the metric columns between bpp and text_source to {@link #METRIC_TOLERANCE}. */
  static final int EXACT_COLUMNS = 7;

  static final double METRIC_TOLERANCE = 1e-9;

  static final double SET_METRIC_TOLERANCE = 1e-6;

  @TempDir Path tmp;

  @Test
  void perImageRowsAndSetMetricsEqualTacoEval() throws Exception {
    Path kodak = tmp.resolve("kodak");
    Path captions = SparkTestData.kodakCrops(kodak, IMAGES, 192, 256);
    Path emb = SparkTestData.writeEmbeddings(tmp.resolve("text.safetensors"), SparkTestData.embeddings(IMAGES, 5));
    Path inception = Golden.dequantizedInception(tmp.resolve("inception.safetensors"));
    Path clip = Golden.smallVisionClip(tmp.resolve("clip-vision"));
    List<String> common = List.of("--weights", SparkTestData.WEIGHTS.toString(), "--preset", "small",
        "--dataset", kodak.toString(), "--captions", captions.toString(), "--dataset-name", "kodak",
        "--text-embeddings", emb.toString(),
        "--lpips-weights", ai.taco.core.testing.Golden.golden("lpips/lpips-alex-randtrunk.safetensors").toString(),
        "--inception", inception.toString(), "--cmmd-clip", clip.toString(),
        "--jpeg-quality", "50", "--no-progress", "--save-reconstructions");

    Path single = tmp.resolve("single");
    List<String> a = new ArrayList<>(List.of("eval"));
    a.addAll(common);
    a.addAll(List.of("--out", single.toString()));
    SparkTestData.Run r1 = SparkTestData.taco(a.toArray(String[]::new));
    assertEquals(0, r1.exit(), r1.err());

    Path spark = tmp.resolve("spark");
    List<String> b = new ArrayList<>(List.of("eval", "--master", SparkTestData.MASTER, "--partitions", "2",
        "--fail-first-attempt-of-partition", "0"));
    b.addAll(common);
    b.addAll(List.of("--out", spark.toString()));
    SparkTestData.Run r2 = SparkTestData.tacoSpark(b.toArray(String[]::new));
    assertEquals(0, r2.exit(), r2.err());

    List<String> rows1 = Files.readAllLines(single.resolve("per_image.csv"));
    List<String> rows2 = Files.readAllLines(spark.resolve("per_image.csv"));
    assertEquals(1 + 2 * IMAGES.size(), rows1.size());
    assertEquals(rows1.size(), rows2.size());
    assertEquals(rows1.get(0), rows2.get(0));
    List<String> header = List.of(rows1.get(0).split(","));
    assertTrue(header.contains("lpips"), header.toString());
    for (int i = 1; i < rows1.size(); i++) {
      String[] x = rows1.get(i).split(",");
      String[] y = rows2.get(i).split(",");
      assertEquals(x.length, y.length);
      for (int c = 0; c < x.length; c++) {
        if (c < EXACT_COLUMNS || c == x.length - 1) {
          assertEquals(x[c], y[c], header.get(c) + " of row " + i);
        } else {
          double u = Double.parseDouble(x[c]);
          double v = Double.parseDouble(y[c]);
          assertEquals(u, v, METRIC_TOLERANCE * Math.abs(u), header.get(c) + " of row " + i);
        }
      }
    }

    ObjectMapper om = new ObjectMapper();
    JsonNode s1 = om.readTree(single.resolve("summary.json").toFile());
    JsonNode s2 = om.readTree(spark.resolve("summary.json").toFile());
    assertEquals(s1.get("points").size(), s2.get("points").size());
    for (int p = 0; p < s1.get("points").size(); p++) {
      JsonNode p1 = s1.get("points").get(p);
      JsonNode p2 = s2.get("points").get(p);
      assertEquals(p1.get("bpp").asDouble(), p2.get("bpp").asDouble(), 0.0);
      for (String m : List.of("fid", "cmmd")) {
        double u = p1.get(m).asDouble();
        assertTrue(Double.isFinite(u) && u > 0, m + " " + p1);
        assertEquals(u, p2.get(m).asDouble(), SET_METRIC_TOLERANCE * Math.abs(u), m);
      }
    }
    assertEquals(s1.get("notes"), s2.get("notes"));
    assertEquals(Files.readString(single.resolve("summary.md")), Files.readString(spark.resolve("summary.md")));
    assertSameReconstructions(single, spark, 2 * IMAGES.size());
    for (String plot : List.of("rd_psnr.png", "rd_lpips.png", "rd_fid.png")) {
      assertTrue(Files.size(spark.resolve(plot)) > 1000, plot);
    }
  }

  /**
   * As on a cluster: the tasks build the codecs and metrics from taco eval's command line themselves, once per JVM
   * for the whole job (two points, two partitions each), and the rows are still taco eval's.
   */
  @Test
  void tasksBuildTheirOwnCodecsOncePerJvm() throws Exception {
    Path kodak = tmp.resolve("kodak");
    Path captions = SparkTestData.kodakCrops(kodak, IMAGES.subList(0, 2), 192, 256);
    Path emb = SparkTestData.writeEmbeddings(tmp.resolve("text.safetensors"), SparkTestData.embeddings(IMAGES, 9));
    List<String> common = List.of("--weights", SparkTestData.WEIGHTS.toString(), "--preset", "small",
        "--dataset", kodak.toString(), "--captions", captions.toString(), "--text-embeddings", emb.toString(),
        "--jpeg-quality", "30", "--no-progress");
    Path single = tmp.resolve("single");
    List<String> a = new ArrayList<>(List.of("eval"));
    a.addAll(common);
    a.addAll(List.of("--out", single.toString()));
    SparkTestData.Run r1 = SparkTestData.taco(a.toArray(String[]::new));
    assertEquals(0, r1.exit(), r1.err());

    int before = EvalResources.builds();
    Path spark = tmp.resolve("spark");
    List<String> b = new ArrayList<>(List.of("eval", "--master", SparkTestData.MASTER, "--partitions", "2",
        "--executor-loads-weights"));
    b.addAll(common);
    b.addAll(List.of("--out", spark.toString()));
    SparkTestData.Run r2 = SparkTestData.tacoSpark(b.toArray(String[]::new));
    assertEquals(0, r2.exit(), r2.err());
    assertEquals(1, EvalResources.builds() - before);
    assertEquals(Files.readAllLines(single.resolve("per_image.csv")), Files.readAllLines(spark.resolve("per_image.csv")));

    // An interrupted run (the last row lost) resumed with --resume; the executors save the reconstructions into --out.
    Path csv = spark.resolve("per_image.csv");
    List<String> rows = Files.readAllLines(csv);
    Files.write(csv, rows.subList(0, rows.size() - 1));
    List<String> c = new ArrayList<>(b);
    c.addAll(List.of("--resume", "--save-reconstructions"));
    SparkTestData.Run r3 = SparkTestData.tacoSpark(c.toArray(String[]::new));
    assertEquals(0, r3.exit(), r3.err());
    assertEquals(2, EvalResources.builds() - before, "the resumed job builds its own resources once");
    List<String> expected = new ArrayList<>(Files.readAllLines(single.resolve("per_image.csv")));
    List<String> resumed = new ArrayList<>(Files.readAllLines(csv));
    assertEquals(expected.size(), resumed.size(), resumed.toString());
    expected.sort(null);
    resumed.sort(null);
    assertEquals(expected, resumed);
    // Only the lost pair was computed again, so only its reconstruction is there.
    try (var files = Files.walk(spark.resolve("reconstructions"))) {
      assertEquals(1, files.filter(Files::isRegularFile).count());
    }
  }

  /** The same reconstruction PNGs, byte for byte, under both runs' reconstructions/ folders. */
  static void assertSameReconstructions(Path single, Path spark, int expected) throws Exception {
    List<Path> files;
    try (var walk = Files.walk(single.resolve("reconstructions"))) {
      files = walk.filter(Files::isRegularFile).toList();
    }
    assertEquals(expected, files.size(), files.toString());
    for (Path f : files) {
      Path rel = single.relativize(f);
      assertTrue(Files.isRegularFile(spark.resolve(rel)), rel.toString());
      assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(spark.resolve(rel)), rel.toString());
    }
  }
}
