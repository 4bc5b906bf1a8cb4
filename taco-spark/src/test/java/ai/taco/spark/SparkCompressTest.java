package ai.taco.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.tensor.HostTensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Batch compression and decompression as Spark jobs against the single-image {@code taco} commands: the same bytes,
 * the same PNGs; a corrupt image is an error row and the job succeeds; a partition whose first attempt fails is
 * retried and the table holds each image exactly once.
 */
class SparkCompressTest {

  static final List<String> IMAGES = List.of("kodim01.png", "kodim02.png");

  @TempDir Path tmp;

  @Test
  void compressTableAndFilesMatchTacoCompressAndDecompress() throws Exception {
    Path in = tmp.resolve("in");
    SparkTestData.kodakCrops(in, IMAGES, 64, 128);
    // A file named like an image that is not one.
    Files.write(in.resolve("corrupt.png"), "not a PNG at all".getBytes());
    Map<String, HostTensor> emb = SparkTestData.embeddings(IMAGES, 11);
    Path embFile = SparkTestData.writeEmbeddings(tmp.resolve("text.safetensors"), emb);
    Path captions = tmp.resolve("captions.csv");
    Files.writeString(captions, "file_name,caption\nkodim01.png,\"a house, with a door\"\nkodim02.png,a red door\n");
    Path out = tmp.resolve("out");

    SparkTestData.Run r = SparkTestData.tacoSpark("compress", "--master", SparkTestData.MASTER, "--partitions", "3",
        "--fail-first-attempt-of-partition", "0", "--weights", SparkTestData.WEIGHTS.toString(), "--preset", "small",
        "--in", in.toString(), "--captions", captions.toString(), "--text-embeddings", embFile.toString(),
        "--out", out.toString());
    assertEquals(0, r.exit(), r.err());

    SparkSession spark = SparkSession.active();
    List<Row> rows = spark.read().parquet(out.resolve(CompressJob.TABLE).toString()).collectAsList();
    // Every image exactly once, although the first attempt of partition 0 failed.
    assertEquals(3, rows.size(), rows.toString());
    Map<String, Row> byName = new HashMap<>();
    for (Row row : rows) {
      String name = HadoopFiles.fileName(row.getAs("path"));
      assertNull(byName.put(name, row), "duplicate row for " + name);
    }
    Row bad = byName.get("corrupt.png");
    assertNotNull(bad);
    String error = bad.getAs("error");
    assertNotNull(error);
    assertTrue(error.contains("corrupt.png"), error);
    assertNull(bad.getAs("data"));
    // An error row keeps path and caption; every result column, format and text source included, is null.
    for (String column : List.of("height", "width", "bytes", "bpp", "sha256", "format", "text_source")) {
      assertNull(bad.getAs(column), column);
    }
    assertEquals("a house, with a door", byName.get("kodim01.png").getAs("caption"));

    for (String n : IMAGES) {
      Row row = byName.get(n);
      assertNull(row.getAs("error"), n);
      byte[] data = row.getAs("data");
      assertEquals(64, (int) row.getAs("height"));
      assertEquals(128, (int) row.getAs("width"));
      assertEquals(data.length, (long) row.getAs("bytes"));
      assertEquals(8.0 * data.length / (64 * 128), (double) row.getAs("bpp"), 0.0);
      assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data)), row.getAs("sha256"));
      Path file = out.resolve(CompressJob.FILES).resolve(n.replace(".png", ".taco"));
      assertArrayEquals(data, Files.readAllBytes(file), n);

      // The same image and caption features through `taco compress`: the same bytes.
      Path one = SparkTestData.writeEmbeddings(tmp.resolve(n + ".text.safetensors"), Map.of("text", emb.get(n)));
      Path single = tmp.resolve(n + ".taco");
      SparkTestData.Run c = SparkTestData.taco("compress", "--weights", SparkTestData.WEIGHTS.toString(), "--preset",
          "small", "--text-embedding", one.toString(), "--in", in.resolve(n).toString(), "--out", single.toString());
      assertEquals(0, c.exit(), c.err());
      assertArrayEquals(Files.readAllBytes(single), data, n);
    }

    // Decompress the table on Spark; `taco decompress` reads the per-image files; the PNGs are the same.
    Path pngs = tmp.resolve("pngs");
    SparkTestData.Run d = SparkTestData.tacoSpark("decompress", "--master", SparkTestData.MASTER,
        "--weights", SparkTestData.WEIGHTS.toString(), "--preset", "small",
        "--in", out.resolve(CompressJob.TABLE).toString(), "--out", pngs.toString());
    assertEquals(0, d.exit(), d.err());
    List<Row> status = spark.read().parquet(pngs.resolve(DecompressJob.STATUS).toString()).collectAsList();
    assertEquals(3, status.size());
    for (String n : IMAGES) {
      Path ref = tmp.resolve(n + ".ref.png");
      SparkTestData.Run t = SparkTestData.taco("decompress", "--weights", SparkTestData.WEIGHTS.toString(),
          "--preset", "small", "--in", out.resolve(CompressJob.FILES).resolve(n.replace(".png", ".taco")).toString(),
          "--out", ref.toString());
      assertEquals(0, t.exit(), t.err());
      assertArrayEquals(Files.readAllBytes(ref), Files.readAllBytes(pngs.resolve(n)), n);
    }
    long notCompressed = status.stream().filter(s -> s.getAs("error") != null).count();
    assertEquals(1, notCompressed);

    // The folder of .taco files as input (one of them damaged): PNGs for the good ones, an error row for the bad.
    Path damaged = out.resolve(CompressJob.FILES).resolve("kodim02.taco");
    byte[] bytes = Files.readAllBytes(damaged);
    bytes[bytes.length / 2] ^= 0x5a;
    Files.write(damaged, bytes);
    Path pngs2 = tmp.resolve("pngs2");
    SparkTestData.Run d2 = SparkTestData.tacoSpark("decompress", "--master", SparkTestData.MASTER,
        "--weights", SparkTestData.WEIGHTS.toString(), "--preset", "small",
        "--in", out.resolve(CompressJob.FILES).toString(), "--out", pngs2.toString());
    assertEquals(0, d2.exit(), d2.err());
    Map<String, Row> st = new HashMap<>();
    spark.read().parquet(pngs2.resolve(DecompressJob.STATUS).toString()).collectAsList()
        .forEach(s -> st.put(HadoopFiles.fileName(s.getAs("path")), s));
    assertEquals(2, st.size());
    assertNull(st.get("kodim01.taco").getAs("error"));
    assertArrayEquals(Files.readAllBytes(pngs.resolve("kodim01.png")), Files.readAllBytes(pngs2.resolve("kodim01.png")));
    assertNotNull(st.get("kodim02.taco").getAs("error"));
    assertTrue(Files.notExists(pngs2.resolve("kodim02.png")));
  }

  @Test
  void defaultCompressEqualsTacoCompressNoCaption() throws Exception {
    Path in = tmp.resolve("in");
    SparkTestData.kodakCrops(in, List.of("kodim01.png"), 64, 128);
    Path out = tmp.resolve("out");
    // Neither --captions nor --clip nor --text-embeddings: Spark's default caption features.
    SparkTestData.Run r = SparkTestData.tacoSpark("compress", "--master", SparkTestData.MASTER, "--weights",
        SparkTestData.WEIGHTS.toString(), "--preset", "small", "--in", in.toString(), "--out", out.toString(),
        "--no-files");
    assertEquals(0, r.exit(), r.err());
    List<Row> rows = SparkSession.active().read().parquet(out.resolve(CompressJob.TABLE).toString()).collectAsList();
    assertEquals(1, rows.size());
    Row row = rows.get(0);
    assertNull(row.getAs("error"));
    assertTrue(((String) row.getAs("text_source")).contains("all-zero"), (String) row.getAs("text_source"));

    Path single = tmp.resolve("kodim01.taco");
    SparkTestData.Run c = SparkTestData.taco("compress", "--weights", SparkTestData.WEIGHTS.toString(), "--preset",
        "small", "--no-caption", "--in", in.resolve("kodim01.png").toString(), "--out", single.toString());
    assertEquals(0, c.exit(), c.err());
    assertArrayEquals(Files.readAllBytes(single), (byte[]) row.getAs("data"));

    // The caption features matter: a random caption embedding gives other bytes, so equality above is not vacuous.
    Map<String, HostTensor> emb = SparkTestData.embeddings(List.of("kodim01.png"), 11);
    Path one = SparkTestData.writeEmbeddings(tmp.resolve("one.safetensors"), Map.of("text", emb.get("kodim01.png")));
    Path other = tmp.resolve("other.taco");
    c = SparkTestData.taco("compress", "--weights", SparkTestData.WEIGHTS.toString(), "--preset", "small",
        "--text-embedding", one.toString(), "--in", in.resolve("kodim01.png").toString(), "--out", other.toString());
    assertEquals(0, c.exit(), c.err());
    assertFalse(java.util.Arrays.equals(Files.readAllBytes(single), Files.readAllBytes(other)));
  }
}
