package ai.taco.eval.bench;

import ai.taco.core.testing.Golden;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExternalCodecTest {

  @Test
  void parsesNameQualitiesAndTemplates() {
    List<ExternalCodec> c = ExternalCodec.parse("bpg@22, 27,32:bpgenc -q {q} -o {out} {in};bpgdec -o {recon} {out}");
    assertEquals(3, c.size());
    assertEquals("bpg", c.get(0).name());
    assertEquals("q=27", c.get(1).setting());
    List<String> cmd = c.get(2).substitute(List.of("bpgenc", "-q", "{q}", "-o", "{out}", "{in}", "{w}x{h}"),
        Path.of("/a/in.png"), Path.of("/a/out.bin"), Path.of("/a/r.png"), 64, 32);
    assertEquals(List.of("bpgenc", "-q", "32", "-o", "/a/out.bin", "/a/in.png", "64x32"), cmd);
    assertEquals("default", ExternalCodec.parse("x:enc {in} {out};dec {out} {recon}").get(0).setting());
  }

  @Test
  void rejectsMalformedSpecs() {
    for (String bad : List.of("nocolon", "x:enc {in} {out}", "x:enc {in};dec {out} {recon}",
        "x:enc {in} {out};dec {out}", "bad name:enc {in} {out};dec {out} {recon}", "x@:a {in} {out};b {out} {recon}")) {
      assertThrows(BenchmarkException.class, () -> ExternalCodec.parse(bad), bad);
    }
  }

  /** A real external round trip: "cp" as a lossless codec, so the bitstream is the PNG and recon the original. */
  @Test
  void runsCommandsAndMeasuresTheirFiles(@TempDir Path tmp) throws Exception {
    RgbImage img = RgbImage.read(Golden.data("kodak/kodim05.png")).crop(0, 0, 64, 96);
    ExternalCodec cp = ExternalCodec.parse("copy:cp {in} {out};cp {out} {recon}").get(0);
    byte[] bits = cp.encode(img, null);
    Path png = tmp.resolve("same.png");
    img.writePng(png);
    assertArrayEquals(Files.readAllBytes(png), bits, "bitstream must be exactly what the encoder wrote");
    assertEquals(img, cp.decode(bits));
  }

  @Test
  void failingToolGivesItsExitCodeAndOutput() {
    RgbImage img = new RgbImage(2, 2, new float[12]);
    ExternalCodec bad = ExternalCodec.parse("bad:sh -c exit_7_{in}{out} ;cp {out} {recon}").get(0);
    BenchmarkException e = assertThrows(BenchmarkException.class, () -> bad.encode(img, null));
    assertTrue(e.getMessage().contains("failed (exit"), e.getMessage());
    ExternalCodec missing = ExternalCodec.parse("nope:/no/such/tool {in} {out};cp {out} {recon}").get(0);
    e = assertThrows(BenchmarkException.class, () -> missing.encode(img, null));
    assertTrue(e.getMessage().contains("/no/such/tool"), e.getMessage());
  }
}
