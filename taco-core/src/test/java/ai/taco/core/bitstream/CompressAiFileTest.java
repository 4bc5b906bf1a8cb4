package ai.taco.core.bitstream;

import ai.taco.core.error.BitstreamException;
import ai.taco.core.tensor.HostTensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.testing.Golden;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The official TACO .bin layout against the reference's files (taco-small/imgK.bin). */
class CompressAiFileTest {
  @TempDir Path tmp;

  @Test
  void parsesGoldenFilesAndRewritesThemByteIdentically() throws Exception {
    int[][] sizes = {{64, 64, 1, 1}, {128, 192, 2, 3}};
    String[] names = {"img0_64x64", "img1_128x192"};
    for (int i = 0; i < names.length; i++) {
      Path bin = Golden.golden("taco-small/" + names[i] + ".bin");
      Map<String, HostTensor> t = Golden.tensors("taco-small/" + names[i] + ".safetensors");
      CompressAiFile f = CompressAiFile.read(bin);
      assertEquals(sizes[i][0], f.height());
      assertEquals(sizes[i][1], f.width());
      assertEquals(sizes[i][2], f.zHeight());
      assertEquals(sizes[i][3], f.zWidth());
      long[] shape = t.get("compress.shape").toLongArray();
      assertEquals(shape[0], f.zHeight());
      assertEquals(shape[1], f.zWidth());
      assertEquals(2, f.strings().size());
      assertArrayEquals(t.get("compress.y_string").toByteArray(), f.yString());
      assertArrayEquals(t.get("compress.z_string").toByteArray(), f.zString());
      byte[] original = Files.readAllBytes(bin);
      assertArrayEquals(original, f.toBytes());
      assertEquals(original.length, f.byteCount());
      CompressAiFile built = CompressAiFile.of(f.height(), f.width(), f.zHeight(), f.zWidth(),
          t.get("compress.y_string").toByteArray(), t.get("compress.z_string").toByteArray());
      Path out = tmp.resolve(names[i] + ".bin");
      built.write(out, false);
      assertArrayEquals(original, Files.readAllBytes(out));
      assertEquals(f, built);
    }
  }

  @Test
  void everyTruncationAndTrailingGarbageIsRefused() throws Exception {
    byte[] original = Files.readAllBytes(Golden.golden("taco-small/img0_64x64.bin"));
    for (int n = 0; n < original.length; n++) {
      byte[] cut = Arrays.copyOf(original, n);
      assertThrows(BitstreamException.class, () -> CompressAiFile.parse(cut), "length " + n);
    }
    BitstreamException e = assertThrows(BitstreamException.class,
        () -> CompressAiFile.parse(Arrays.copyOf(original, original.length + 3)));
    assertTrue(e.getMessage().contains("trailing"), e.getMessage());
  }

  @Test
  void absurdHeadersAreRefused() {
    byte[] b = CompressAiFile.of(64, 64, 1, 1, new byte[] {1, 2}, new byte[] {3}).toBytes();
    byte[] zeroH = b.clone();
    zeroH[0] = zeroH[1] = zeroH[2] = zeroH[3] = 0;
    assertThrows(BitstreamException.class, () -> CompressAiFile.parse(zeroH));
    byte[] manyStrings = b.clone();
    manyStrings[16] = 0x7f;
    assertThrows(BitstreamException.class, () -> CompressAiFile.parse(manyStrings));
    byte[] hugeLength = b.clone();
    hugeLength[20] = (byte) 0xff;
    assertThrows(BitstreamException.class, () -> CompressAiFile.parse(hugeLength));
  }

  @Test
  void refusesToOverwriteAndNamesFileOnReadErrors() throws Exception {
    Path p = tmp.resolve("x.bin");
    Files.write(p, new byte[] {1, 2, 3});
    CompressAiFile f = CompressAiFile.of(64, 64, 1, 1, new byte[8], new byte[8]);
    BitstreamException e = assertThrows(BitstreamException.class, () -> f.write(p, false));
    assertTrue(e.getMessage().contains("x.bin"));
    assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(p));
    BitstreamException r = assertThrows(BitstreamException.class, () -> CompressAiFile.read(p));
    assertTrue(r.getMessage().contains("x.bin"), r.getMessage());
    f.write(p, true);
    assertEquals(f, CompressAiFile.read(p));
  }
}
