package ai.taco.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.tensor.HostTensor;
import ai.taco.core.image.Images;
import ai.taco.core.weights.SafeTensors;
import ai.taco.core.testing.Golden;
import ai.taco.cli.CliTesting.Run;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Bad input to info, cmmd, fid and metrics: one {@code taco:} line and exit 2, found before any long work. */
class HardeningCliTest {
  @TempDir Path tmp;

  static Run run(String... args) {
    return CliTesting.taco(args);
  }


  private static void assertRefused(Run r, String... fragments) {
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().startsWith("taco: "), r.err());
    for (String f : fragments) {
      assertTrue(r.err().contains(f), "'" + f + "' in: " + r.err());
    }
  }

  @Test
  void infoRefusesHeadersTheDecoderCannotUse() throws Exception {
    byte[] bin = Files.readAllBytes(Golden.golden("taco-small/img0_64x64.bin"));
    // Latent 2x2 claimed for a 64x64 image (the decoder's rule gives 1x1).
    byte[] lie = bin.clone();
    ByteBuffer.wrap(lie).putInt(8, 2).putInt(12, 2);
    Path p = tmp.resolve("lie.bin");
    Files.write(p, lie);
    assertRefused(run("info", p.toString()), "lie.bin", "latent size 2x2 does not fit image size 64x64");
    // Three strings: a CompressAI file, but not TACO's.
    byte[] three = Arrays.copyOf(bin, bin.length + 4);
    ByteBuffer.wrap(three).putInt(16, 3);
    Path q = tmp.resolve("three.bin");
    Files.write(q, three);
    assertRefused(run("info", q.toString()), "3 strings");
    assertRefused(run("info", tmp.toString()), "is a directory");
    // The untouched file is still described.
    Path ok = tmp.resolve("ok.bin");
    Files.write(ok, bin);
    Run r = run("info", ok.toString());
    assertEquals(0, r.code(), r.err());
    JsonNode j = new ObjectMapper().readTree(r.out());
    assertTrue(j != null && j.has("z_shape"), "out=[" + r.out() + "] err=[" + r.err() + "]");
    assertEquals(1, j.get("z_shape").get(0).asInt());
  }

  @Test
  void cmmdRefusesNonFiniteOrZeroEmbeddingsInsteadOfPrintingNaN() throws Exception {
    Path good = embeddings("good.safetensors", 1f);
    Path nan = embeddings("nan.safetensors", Float.NaN);
    Path zero = embeddings("zero.safetensors", 0f);
    Run ok = run("cmmd", "--ref", good.toString(), "--dist", good.toString());
    assertEquals(0, ok.code(), ok.err());
    assertEquals(0.0, new ObjectMapper().readTree(ok.out()).get("cmmd").asDouble(), 1e-9);
    assertRefused(run("cmmd", "--ref", good.toString(), "--dist", nan.toString()), "nan.safetensors", "non-finite");
    assertRefused(run("cmmd", "--ref", zero.toString(), "--dist", good.toString()), "zero.safetensors", "all zeros");
  }

  /** Four 8-dimensional embeddings, row i = (i+1, 2, ..., value in the last column of row 0). */
  private Path embeddings(String name, float special) throws Exception {
    float[] v = new float[4 * 8];
    for (int i = 0; i < v.length; i++) {
      v[i] = special == 0f ? 0f : 1 + (i % 7);
    }
    if (special != 0f) {
      v[7] = special;
    }
    Path p = tmp.resolve(name);
    SafeTensors.write(p, Map.of("embeddings", HostTensor.ofFloats(v, 4, 8)), Map.of());
    return p;
  }

  @Test
  void outputPathsAndMissingInputsAreCheckedBeforeAnyWork() throws Exception {
    Path folder = Files.createDirectories(tmp.resolve("images"));
    Path outDir = Files.createDirectories(tmp.resolve("out"));
    Path good = embeddings("good.safetensors", 1f);
    // No CLIP or Inception model exists here: these must fail on the paths, not on the models.
    assertRefused(run("cmmd", "--ref", good.toString(), "--dist", good.toString(), "--save-embeddings",
        outDir.toString(), "--force"), "is a directory");
    assertRefused(run("cmmd", "--ref", folder.toString(), "--dist", tmp.resolve("absent").toString(), "--clip",
        tmp.resolve("no-clip").toString()), "not found: " + tmp.resolve("absent"));
    assertRefused(run("fid", "--ref", folder.toString(), "--dist", folder.toString(), "--inception",
        tmp.resolve("no.pth").toString(), "--save-features", outDir.toString(), "--force"), "is a directory");
    assertRefused(run("fid", "--ref", folder.toString(), "--dist", folder.toString(), "--inception",
        tmp.resolve("no.pth").toString(), "--save-features", tmp.resolve("missing/f.safetensors").toString()),
        "does not exist");
    assertTrue(Files.isDirectory(outDir));
    assertTrue(!Files.exists(tmp.resolve("missing")), "no directory created behind the user's back");
  }

  @Test
  void lpipsIsSkippedNotCrashedOnImagesSmallerThanAlexNetAccepts() throws Exception {
    float[] chw = new float[3 * 30 * 30];
    for (int i = 0; i < chw.length; i++) {
      chw[i] = (i % 17) / 16f;
    }
    Path a = tmp.resolve("a.png");
    Images.writePng(chw, 30, 30, a, false);
    Run r = run("metrics", "--ref", a.toString(), "--dist", a.toString(), "--lpips-weights",
        Golden.golden("lpips/lpips-alex-randtrunk.safetensors").toString());
    assertEquals(0, r.code(), r.err());
    JsonNode j = new ObjectMapper().readTree(r.out());
    assertTrue(j.get("lpips").isNull(), r.out());
    assertTrue(Double.isInfinite(j.get("psnr").asDouble()) || j.get("psnr").asText().equals("Infinity"), r.out());
  }

  @Test
  void codecCommandsNeverWriteOverTheirInputAndNameDirectories() throws Exception {
    Path img = tmp.resolve("same.png");
    Files.copy(Golden.golden("taco-small/img0_64x64.png"), img);
    byte[] before = Files.readAllBytes(img);
    String weights = Golden.tacoSmallWeights().toString();
    assertRefused(
        run("compress", "--weights", weights, "--preset", "small", "--text-embedding",
            Golden.golden("taco-small/img0_64x64.safetensors").toString(), "--in", img.toString(), "--out",
            img.toString(), "--force"),
        "is the input file");
    assertArrayEquals(before, Files.readAllBytes(img));
    assertRefused(
        run("decompress", "--weights", weights, "--preset", "small", "--in", tmp.toString(), "--out",
            tmp.resolve("x.png").toString()),
        "is a directory");
    assertRefused(
        run("decompress", "--weights", tmp.toString(), "--preset", "small", "--in",
            Golden.golden("taco-small/img0_64x64.bin").toString(), "--out", tmp.resolve("y.png").toString()),
        "is a directory");
  }
}
