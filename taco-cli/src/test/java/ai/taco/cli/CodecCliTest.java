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

  /**
   * Weights whose last gS layer overflows (finite weights, infinite output) fail the decode once the PNG has been
   * started (its header is written before the first band): no PNG and no temporary file is left, and an existing file
   * is kept even with --force. The same file with sound weights and --tile 32 (several bands) decodes.
   */
  @Test
  void aDecodeFailingAfterThePngStartedLeavesNoFile() throws Exception {
    Map<String, HostTensor> sd = new java.util.HashMap<>(
        ai.taco.core.weights.StateDict.load(Golden.golden("taco-small/checkpoint.pth.tar")));
    // gS's last layer (a transposed convolution, weight [C,3,5,5]) with every weight at the largest float: each output
    // sums 25·C products of that with the features, which overflows.
    String last = sd.keySet().stream().filter(k -> k.endsWith("g_s.synthesis_transform.14.weight")).findFirst()
        .orElseThrow();
    float[] huge = new float[Math.toIntExact(sd.get(last).numel())];
    java.util.Arrays.fill(huge, Float.MAX_VALUE);
    sd.put(last, HostTensor.ofFloats(huge, sd.get(last).shape()));
    Path overflowing = tmp.resolve("overflowing.safetensors");
    SafeTensors.write(overflowing, sd, Map.of());
    Path dir = Files.createDirectories(tmp.resolve("out"));
    Path png = dir.resolve("x.png");
    String bin = Golden.golden("taco-small/img1_128x192.bin").toString();
    String[] r = run("decompress", "--weights", overflowing.toString(), "--preset", "small", "--tile", "32",
        "--sub-tile", "16", "--in", bin, "--out", png.toString());
    assertEquals("2", r[0], r[2]);
    assertTrue(r[2].contains("NaN or infinite"), r[2]);
    try (java.util.stream.Stream<Path> left = Files.list(dir)) {
      assertEquals(0, left.count(), "nothing left behind");
    }
    Files.writeString(png, "kept");
    r = run("decompress", "--weights", overflowing.toString(), "--preset", "small", "--in", bin, "--out",
        png.toString(), "--force");
    assertEquals("2", r[0], r[2]);
    assertEquals("kept", Files.readString(png));
    r = run("decompress", "--weights", Golden.golden("taco-small/checkpoint.pth.tar").toString(), "--preset", "small",
        "--tile", "32", "--sub-tile", "16", "--in", bin, "--out", png.toString(), "--force");
    assertEquals("0", r[0], r[2]);
    assertOfficialPng("img1_128x192", png);
  }

  /**
   * --max-pixels: a small PNG declaring 16384×16384 is refused by default from its header, naming the size and the
   * option; a limit just below an image refuses it (compress and decompress), the image's own size lets it through.
   */
  @Test
  void maxPixelsRefusesAboveAndLetsTheImageThroughAtItsSize() throws Exception {
    Path bomb = tmp.resolve("bomb.png");
    Files.write(bomb, blackPng(16384));
    String[] r = run("compress", "--weights", tmp.resolve("unused.pth").toString(), "--in", bomb.toString(), "--out",
        tmp.resolve("bomb.taco").toString());
    assertEquals("2", r[0], r[2]);
    assertTrue(r[2].contains("16384x16384") && r[2].contains("--max-pixels") && r[2].strip().lines().count() == 1,
        r[2]);

    String weights = Golden.golden("taco-small/checkpoint.pth.tar").toString();
    String emb = embedding("taco-small/img1_128x192.safetensors").toString();
    String img = Golden.golden("taco-small/img1_128x192.png").toString();
    Path bin = tmp.resolve("img1.bin");
    r = run("compress", "--weights", weights, "--preset", "small", "--text-embedding", emb, "--in", img, "--out",
        bin.toString(), "--format", "compressai", "--max-pixels", String.valueOf(128 * 192 - 1));
    assertEquals("2", r[0], r[2]);
    assertTrue(r[2].contains("192x128") && r[2].contains("limit of 24575 pixels"), r[2]);
    r = run("compress", "--weights", weights, "--preset", "small", "--text-embedding", emb, "--in", img, "--out",
        bin.toString(), "--format", "compressai", "--max-pixels", String.valueOf(128 * 192));
    assertEquals("0", r[0], r[2]);
    assertArrayEquals(Files.readAllBytes(Golden.golden("taco-small/img1_128x192.bin")), Files.readAllBytes(bin));

    Path png = tmp.resolve("img1.png");
    r = run("decompress", "--weights", weights, "--preset", "small", "--in", bin.toString(), "--out", png.toString(),
        "--max-pixels", "1000");
    assertEquals("2", r[0], r[2]);
    assertTrue(r[2].contains("192x128") && r[2].contains("limit of 1000 pixels"), r[2]);
    r = run("decompress", "--weights", weights, "--preset", "small", "--in", bin.toString(), "--out", png.toString(),
        "--max-pixels", "0");
    assertEquals("0", r[0], r[2]);
  }

  /** A valid all-black 1-bit grayscale PNG of side×side: a few hundred kB for 16384 (its rows deflate to nothing). */
  private static byte[] blackPng(int side) throws java.io.IOException {
    java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
    png.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
    java.nio.ByteBuffer ihdr = java.nio.ByteBuffer.allocate(13).putInt(side).putInt(side).put(new byte[] {1, 0, 0, 0, 0});
    chunk(png, "IHDR", ihdr.array());
    java.io.ByteArrayOutputStream idat = new java.io.ByteArrayOutputStream();
    byte[] row = new byte[1 + (side + 7) / 8];
    try (java.util.zip.DeflaterOutputStream z = new java.util.zip.DeflaterOutputStream(idat)) {
      for (int y = 0; y < side; y++) {
        z.write(row);
      }
    }
    chunk(png, "IDAT", idat.toByteArray());
    chunk(png, "IEND", new byte[0]);
    return png.toByteArray();
  }

  private static void chunk(java.io.ByteArrayOutputStream out, String type, byte[] data) throws java.io.IOException {
    byte[] t = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
    crc.update(t);
    crc.update(data);
    out.write(java.nio.ByteBuffer.allocate(4).putInt(data.length).array());
    out.write(t);
    out.write(data);
    out.write(java.nio.ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
  }
}
