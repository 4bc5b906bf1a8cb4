package ai.taco.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.bitstream.TacoFile;
import ai.taco.core.bitstream.ScaleTable;
import ai.taco.core.testing.Golden;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InfoCommandTest {
  @TempDir Path tmp;

  private static String[] run(String... args) {
    return CliTesting.taco(args).asArray();
  }

  @Test
  void describesGoldenBin() throws Exception {
    String[] r = run("info", Golden.golden("taco-small/img1_128x192.bin").toString());
    assertEquals("0", r[0], r[2]);
    JsonNode j = new ObjectMapper().readTree(r[1]);
    assertEquals("compressai-bin", j.get("format").asText());
    assertEquals(128, j.get("height").asInt());
    assertEquals(192, j.get("width").asInt());
    assertEquals(2, j.get("z_shape").get(0).asInt());
    assertEquals(3, j.get("z_shape").get(1).asInt());
    assertEquals(11612, j.get("y_string_bytes").asInt());
    assertEquals(140, j.get("z_string_bytes").asInt());
    assertEquals(11780, j.get("file_bytes").asInt());
    // README: bpp=3.8346354166666665 for this file (file size * 8 / pixels).
    assertEquals(3.8346354166666665, j.get("bpp").asDouble(), 1e-12);
    assertTrue(j.get("scale_table").isNull());
  }

  @Test
  void describesTacoContainer() throws Exception {
    byte[] fp = new byte[16];
    fp[0] = (byte) 0xab;
    TacoFile f = new TacoFile(ScaleTable.TORCH2, fp, 64, 64, 1, 1, 1, 2, new byte[28], new byte[1920]);
    Path p = tmp.resolve("x.taco");
    f.write(p, false);
    String[] r = run("info", p.toString());
    assertEquals("0", r[0], r[2]);
    JsonNode j = new ObjectMapper().readTree(r[1]);
    assertEquals("taco", j.get("format").asText());
    assertEquals(TacoFile.VERSION, j.get("version").asInt());
    assertEquals("torch2", j.get("scale_table").asText());
    assertEquals("ab000000000000000000000000000000", j.get("weights_fingerprint").asText());
    assertEquals(4, j.get("y_shape").get(0).asInt());
    assertEquals((1948 + 60) * 8 / 4096.0, j.get("bpp").asDouble(), 1e-12);
  }

  @Test
  void corruptFilesExitNonZeroWithOneLine() throws Exception {
    Path p = tmp.resolve("bad.taco");
    TacoFile f = new TacoFile(ScaleTable.TORCH1, new byte[16], 64, 64, 1, 1, 1, 2, new byte[3], new byte[3]);
    byte[] b = f.toBytes();
    b[30] ^= 1;
    Files.write(p, b);
    String[] r = run("info", p.toString());
    assertEquals("2", r[0]);
    assertTrue(r[2].startsWith("taco: ") && r[2].contains("bad.taco") && r[2].contains("CRC32"), r[2]);
    Path text = tmp.resolve("notes.txt");
    Files.writeString(text, "garbage");
    String[] garbage = run("info", text.toString());
    assertEquals("2", garbage[0]);
    assertTrue(garbage[2].contains("neither a TACO container"), garbage[2]);
    String[] missing = run("info", tmp.resolve("nope.bin").toString());
    assertEquals("2", missing[0]);
    assertTrue(missing[2].contains("not found"), missing[2]);
  }
}
