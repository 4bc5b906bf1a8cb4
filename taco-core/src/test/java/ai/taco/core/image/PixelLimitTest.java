package ai.taco.core.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.bitstream.CompressAiFile;
import ai.taco.core.bitstream.ScaleTable;
import ai.taco.core.bitstream.TacoFile;
import ai.taco.core.error.ImageException;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.TacoCodec;
import ai.taco.core.TacoConfig;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The default pixel limit (decompression bombs): images and coded files declaring more than {@link
 * Images#DEFAULT_MAX_PIXELS} are refused from their header, with one line naming the size, the limit and how to raise
 * it; raising the limit lets the same input through.
 */
class PixelLimitTest {
  @TempDir Path tmp;

  private static final String LIMIT = String.valueOf(Images.DEFAULT_MAX_PIXELS);

  private static void assertNamesLimit(String m, String size, String limit) {
    assertTrue(m.contains(size) && m.contains("limit of " + limit + " pixels") && m.contains("--max-pixels"), m);
    assertFalse(m.contains("\n"), m);
  }

  @Test
  void defaultIsPillowsBombThreshold() {
    // PIL.Image.MAX_IMAGE_PIXELS = int(1024 * 1024 * 1024 // 4 // 3); DecompressionBombError above twice that.
    assertEquals(2L * (1024 * 1024 * 1024 / 4 / 3), Images.DEFAULT_MAX_PIXELS);
  }

  /** A small valid PNG declaring 16384×16384 (the bomb) is refused by the default reader. */
  @Test
  void bombPngIsRefusedByDefault() throws IOException {
    Path p = tmp.resolve("bomb.png");
    Files.write(p, HostileImageTest.blackPng(16384));
    assertTrue(Files.size(p) < 1 << 20, "crafted PNG is small: " + Files.size(p));
    ImageException e = assertThrows(ImageException.class, () -> Images.readCompact(p));
    assertNamesLimit(e.getMessage(), "16384x16384", LIMIT);
    assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
  }

  /**
   * Refused from the header, before any pixel is decoded: the same header followed by image data that is not even a
   * zlib stream gives the limit's message, not a decoding error.
   */
  @Test
  void refusalComesFromTheHeaderAlone() throws IOException {
    byte[] png = HostileImageTest.blackPng(16384);
    int idat = indexOf(png, "IDAT".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    Arrays.fill(png, idat + 4, idat + 12, (byte) 0x55); // garbage where the zlib header was
    Path p = tmp.resolve("bomb-garbage.png");
    Files.write(p, png);
    ImageException e = assertThrows(ImageException.class, () -> Images.readCompact(p));
    assertNamesLimit(e.getMessage(), "16384x16384", LIMIT);
  }

  @Test
  void raisingTheLimitLetsTheImageThrough() throws IOException {
    Path p = tmp.resolve("nine.png");
    Files.write(p, HostileImageTest.blackPng(9));
    assertNamesLimit(assertThrows(ImageException.class, () -> Images.readCompact(p, 80)).getMessage(), "9x9", "80");
    assertNamesLimit(assertThrows(ImageException.class, () -> Images.read(p, 80)).getMessage(), "9x9", "80");
    assertArrayEquals(new long[] {1, 3, 9, 9}, Images.readCompact(p, 81).shape());
    assertArrayEquals(new long[] {1, 3, 9, 9}, Images.read(p, 0).shape());
    assertThrows(IllegalArgumentException.class, () -> Images.read(p, -1));
  }

  /** The codec applies its limit to images and to the W×H a .taco or .bin declares, before reserving memory. */
  @Test
  void codecRefusesDeclaredSizesAboveItsLimit() {
    HostTensor caption = HostTensor.ofFloats(new float[38 * 512], 38, 512);
    HostTensor image = HostTensor.ofFloats(new float[3 * 64 * 64], 1, 3, 64, 64);
    try (TacoCodec codec = TacoCodec.builder().setRandomWeights(1).optConfig(TacoConfig.TINY).build()) {
      // Forged files declaring 16384x16384 (latent 256x256) with a few bytes of strings.
      TacoFile forged = new TacoFile(ScaleTable.TORCH1, codec.weightsFingerprint(), 16384, 16384, 256, 256, 0, 0,
          new byte[16], new byte[16]);
      assertNamesLimit(assertThrows(ImageException.class, () -> codec.decompress(forged)).getMessage(),
          "16384x16384", LIMIT);
      CompressAiFile bin = CompressAiFile.of(16384, 16384, 256, 256, new byte[16], new byte[16]);
      assertNamesLimit(assertThrows(ImageException.class, () -> codec.decompress(bin)).getMessage(),
          "16384x16384", LIMIT);
      TacoFile f = codec.compress(image, caption);
      try (TacoCodec strict = TacoCodec.builder().setRandomWeights(1).optConfig(TacoConfig.TINY)
          .optMaxPixels(64 * 64 - 1).build()) {
        assertNamesLimit(assertThrows(ImageException.class, () -> strict.compress(image, caption)).getMessage(),
            "64x64", "4095");
        assertNamesLimit(assertThrows(ImageException.class, () -> strict.decompress(f)).getMessage(), "64x64", "4095");
      }
      try (TacoCodec exact = TacoCodec.builder().setRandomWeights(1).optConfig(TacoConfig.TINY)
          .optMaxPixels(64 * 64).build()) {
        assertArrayEquals(f.yString(), exact.compress(image, caption).yString());
        assertArrayEquals(new long[] {1, 3, 64, 64}, exact.decompress(f).shape());
      }
    }
    assertThrows(IllegalArgumentException.class, () -> TacoCodec.builder().optMaxPixels(-1));
  }

  private static int indexOf(byte[] a, byte[] b) {
    outer:
    for (int i = 0; i + b.length <= a.length; i++) {
      for (int j = 0; j < b.length; j++) {
        if (a[i + j] != b[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new AssertionError("not found");
  }
}
