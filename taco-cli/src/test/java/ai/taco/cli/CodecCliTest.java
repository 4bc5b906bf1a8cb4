package ai.taco.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.image.Images;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.core.weights.SafeTensors;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code taco compress} / {@code taco decompress} end to end on the golden small model. */
class CodecCliTest {
  @TempDir Path tmp;

  private static String[] run(String... args) {
    return CliTesting.taco(args).asArray();
  }

  private Path embedding(String goldenFile) throws Exception {
    Path p = tmp.resolve("text.safetensors");
    HostTensor t = Golden.tensors(goldenFile).get("text_embeddings");
    SafeTensors.write(p, Map.of("last_hidden_state", t), Map.of());
    return p;
  }

  /** The decoded PNG equals the official x_hat PNG (up to rounding ties, see Golden#assertSame8BitImage). */
  private static void assertOfficialPng(String name, Path png) {
    int ties = Golden.assertSame8BitImage(
        Golden.tensors("taco-small/" + name + ".safetensors").get("decompress.x_hat_cropped").toFloatArray(),
        Images.read(Golden.golden("taco-small/" + name + ".x_hat.png")).toFloatArray(),
        Images.read(png).toFloatArray(),
        name + " decoded PNG vs the official x_hat PNG");
    System.out.println("[CodecCliTest] " + name + ": PNG identical but for " + ties + " rounding tie(s)");
  }

  @Test
  void officialBinIsReproducedAndDecodesToTheOfficialPng() throws Exception {
    String weights = Golden.golden("taco-small/checkpoint.pth.tar").toString();
    Path bin = tmp.resolve("img1.bin");
    String[] r = run("compress", "--weights", weights, "--preset", "small", "--text-embedding",
        embedding("taco-small/img1_128x192.safetensors").toString(), "--in",
        Golden.golden("taco-small/img1_128x192.png").toString(), "--out", bin.toString(), "--format", "compressai");
    assertEquals("0", r[0], r[2]);
    assertArrayEquals(Files.readAllBytes(Golden.golden("taco-small/img1_128x192.bin")), Files.readAllBytes(bin));
    JsonNode j = new ObjectMapper().readTree(r[1]);
    assertEquals(11780, j.get("bytes").asInt());

    Path png = tmp.resolve("img1.png");
    r = run("decompress", "--weights", weights, "--preset", "small", "--in",
        Golden.golden("taco-small/img1_128x192.bin").toString(), "--out", png.toString());
    assertEquals("0", r[0], r[2]);
    assertOfficialPng("img1_128x192", png);
  }

  @Test
  void containerRoundTripAndNoSilentOverwrite() throws Exception {
    String weights = Golden.tacoSmallWeights().toString();
    Path taco = tmp.resolve("img0.taco");
    String emb = embedding("taco-small/img0_64x64.safetensors").toString();
    String img = Golden.golden("taco-small/img0_64x64.png").toString();
    String[] r = run("compress", "--weights", weights, "--preset", "small", "--text-embedding", emb, "--in", img,
        "--out", taco.toString());
    assertEquals("0", r[0], r[2]);
    byte[] first = Files.readAllBytes(taco);
    r = run("compress", "--weights", weights, "--preset", "small", "--text-embedding", emb, "--in", img, "--out",
        taco.toString());
    assertEquals("2", r[0]);
    assertTrue(r[2].contains("--force"), r[2]);
    assertEquals(1, r[2].trim().split("\n").length, "one line: " + r[2]);
    assertArrayEquals(first, Files.readAllBytes(taco), "left untouched");
    r = run("compress", "--weights", weights, "--preset", "small", "--text-embedding", emb, "--in", img, "--out",
        taco.toString(), "--force");
    assertEquals("0", r[0], r[2]);
    assertArrayEquals(first, Files.readAllBytes(taco), "deterministic");

    Path png = tmp.resolve("img0.png");
    r = run("decompress", "--weights", weights, "--preset", "small", "--in", taco.toString(), "--out", png.toString());
    assertEquals("0", r[0], r[2]);
    assertOfficialPng("img0_64x64", png);
  }

  @Test
  void badInputsGiveOneClearLine() throws Exception {
    String weights = Golden.tacoSmallWeights().toString();
    String img = Golden.golden("taco-small/img0_64x64.png").toString();
    Path wrong = tmp.resolve("wrong.safetensors");
    SafeTensors.write(wrong, Map.of("t", HostTensor.ofFloats(new float[10 * 512], 10, 512)), Map.of());
    String[] r = run("compress", "--weights", weights, "--preset", "small", "--text-embedding", wrong.toString(),
        "--in", img, "--out", tmp.resolve("x.taco").toString());
    assertEquals("2", r[0]);
    assertTrue(r[2].contains("[38,512]"), r[2]);
    // Without --preset the architecture is read from the weights; a preset that does not fit them is one error.
    Path emb = embedding("taco-small/img0_64x64.safetensors");
    r = run("compress", "--weights", weights, "--text-embedding", emb.toString(), "--in", img, "--out",
        tmp.resolve("inferred.taco").toString());
    assertEquals("0", r[0], r[2]);
    assertTrue(Files.size(tmp.resolve("inferred.taco")) > 0);
    r = run("compress", "--weights", weights, "--preset", "full", "--text-embedding", emb.toString(), "--in", img,
        "--out", tmp.resolve("y.taco").toString());
    assertEquals("2", r[0]);
    assertTrue(r[2].startsWith("taco: weights do not match"), r[2]);
    // Corrupt container.
    Path bad = tmp.resolve("bad.taco");
    Files.write(bad, new byte[] {'T', 'A', 'C', 'O', 1, 2, 3});
    r = run("decompress", "--weights", weights, "--preset", "small", "--in", bad.toString(), "--out",
        tmp.resolve("z.png").toString());
    assertEquals("2", r[0]);
    assertTrue(r[2].startsWith("taco: "), r[2]);
    assertTrue(!Files.exists(tmp.resolve("z.png")));
  }
}
