package ai.taco.core.bitstream;

import ai.taco.core.error.BitstreamException;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.bitstream.ScaleTable;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TacoFileTest {
  @TempDir Path tmp;

  private static final byte[] FP = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

  private static TacoFile sample() {
    return new TacoFile(ScaleTable.TORCH2, FP, 100, 70, 2, 2, 0xCAFEBABE, 0x01020304,
        new byte[] {9, 8, 7}, new byte[] {1, 2, 3, 4, 5});
  }

  /** The bytes sit exactly where docs/bitstream.md says. */
  @Test
  void layoutMatchesSpecification() {
    byte[] b = sample().toBytes();
    ByteBuffer bb = ByteBuffer.wrap(b);
    assertEquals(52 + 3 + 4 + 5 + 4, b.length);
    assertArrayEquals("TACO".getBytes(StandardCharsets.US_ASCII), Arrays.copyOf(b, 4));
    assertEquals(2, b[4]);
    assertEquals(2, b[5]);
    assertEquals(0, bb.getShort(6));
    assertArrayEquals(FP, Arrays.copyOfRange(b, 8, 24));
    assertEquals(100, bb.getInt(24));
    assertEquals(70, bb.getInt(28));
    assertEquals(2, bb.getInt(32));
    assertEquals(2, bb.getInt(36));
    // Version 2: the symbol checksums XOR CRC32C(bytes 24..40).
    CRC32C sizes = new CRC32C();
    sizes.update(b, 24, 16);
    assertEquals(0xCAFEBABE ^ (int) sizes.getValue(), bb.getInt(40));
    assertEquals(0x01020304 ^ (int) sizes.getValue(), bb.getInt(44));
    assertEquals(3, bb.getInt(48));
    assertArrayEquals(new byte[] {9, 8, 7}, Arrays.copyOfRange(b, 52, 55));
    assertEquals(5, bb.getInt(55));
    assertArrayEquals(new byte[] {1, 2, 3, 4, 5}, Arrays.copyOfRange(b, 59, 64));
    CRC32 crc = new CRC32();
    crc.update(b, 0, 64);
    assertEquals((int) crc.getValue(), bb.getInt(64));
  }

  @Test
  void roundTripsThroughBytesAndFiles() {
    TacoFile f = sample();
    TacoFile back = TacoFile.parse(f.toBytes());
    assertEquals(f, back);
    assertEquals(ScaleTable.TORCH2, back.scaleTable());
    assertArrayEquals(FP, back.weightsFingerprint());
    assertEquals(0xCAFEBABE, back.zSymbolsCrc());
    Path p = tmp.resolve("a.taco");
    f.write(p, false);
    assertEquals(f, TacoFile.read(p));
    BitstreamException e = assertThrows(BitstreamException.class, () -> f.write(p, false));
    assertTrue(e.getMessage().contains("a.taco"), e.getMessage());
    TacoFile empty = new TacoFile(ScaleTable.TORCH1, FP, 1, 1, 1, 1, 0, 0, new byte[0], new byte[0]);
    assertEquals(empty, TacoFile.parse(empty.toBytes()));
  }

  @Test
  void everyTruncationIsRefused() {
    byte[] b = sample().toBytes();
    for (int n = 0; n < b.length; n++) {
      byte[] cut = Arrays.copyOf(b, n);
      BitstreamException e = assertThrows(BitstreamException.class, () -> TacoFile.parse(cut), "length " + n);
      assertTrue(n < 4 || e.getMessage().contains("truncated"), n + ": " + e.getMessage());
    }
    assertThrows(BitstreamException.class, () -> TacoFile.parse(Arrays.copyOf(b, b.length + 1)));
  }

  @Test
  void everySingleBitFlipIsRefused() {
    byte[] b = sample().toBytes();
    for (int i = 0; i < b.length * 8; i++) {
      byte[] c = b.clone();
      c[i / 8] ^= (byte) (1 << (i % 8));
      assertThrows(BitstreamException.class, () -> TacoFile.parse(c), "bit " + i);
    }
  }

  @Test
  void wrongMagicVersionOrTableWithValidCrc() {
    byte[] b = sample().toBytes();
    byte[] magic = b.clone();
    magic[0] = 'X';
    assertTrue(msg(withCrc(magic)).contains("not a TACO file"));
    byte[] version = b.clone();
    version[4] = 3;
    assertTrue(msg(withCrc(version)).contains("version 3"));
    byte[] table = b.clone();
    table[5] = 7;
    assertTrue(msg(withCrc(table)).contains("scale table"));
    assertTrue(msg("hello".getBytes(StandardCharsets.US_ASCII)).contains("not a TACO file"));
  }

  @Test
  void versionOneFilesAreStillRead() {
    // Version 1 stored the symbol checksums as they are.
    byte[] v1 = sample().toBytes();
    ByteBuffer bb = ByteBuffer.wrap(v1);
    v1[4] = 1;
    bb.putInt(40, 0xCAFEBABE).putInt(44, 0x01020304);
    TacoFile f = TacoFile.parse(withCrc(v1));
    assertEquals(0xCAFEBABE, f.zSymbolsCrc());
    assertEquals(0x01020304, f.ySymbolsCrc());
    assertEquals(sample(), f);
  }

  @Test
  void aReCrcdEditOfTheImageSizeChangesTheSymbolChecksumsReadBack() {
    int zCrc = 0x0badf00d;
    int yCrc = 0x12345678;
    TacoFile f = new TacoFile(ScaleTable.TORCH1, FP, 500, 700, 8, 11, zCrc, yCrc, new byte[4], new byte[4]);
    byte[] b = f.toBytes();
    // 500 -> 510 keeps the latent size (8 = ceil(510/64)), so no size check can catch it; the CRC32 is recomputed.
    ByteBuffer.wrap(b).putInt(24, 510);
    TacoFile edited = TacoFile.parse(withCrc(b));
    assertEquals(510, edited.height());
    // The codec compares these with the decoded symbols' CRC32C: a changed value fails that check.
    assertNotEquals(zCrc, edited.zSymbolsCrc());
    assertNotEquals(yCrc, edited.ySymbolsCrc());
    TacoFile unedited = TacoFile.parse(f.toBytes());
    assertEquals(zCrc, unedited.zSymbolsCrc());
    assertEquals(yCrc, unedited.ySymbolsCrc());
  }

  private static String msg(byte[] b) {
    return assertThrows(BitstreamException.class, () -> TacoFile.parse(b)).getMessage();
  }

  private static byte[] withCrc(byte[] b) {
    CRC32 crc = new CRC32();
    crc.update(b, 0, b.length - 4);
    ByteBuffer.wrap(b).putInt(b.length - 4, (int) crc.getValue());
    return b;
  }

  @Test
  void fingerprintCheck() {
    TacoFile f = sample();
    f.requireFingerprint(FP.clone());
    byte[] other = FP.clone();
    other[15] = 0;
    BitstreamException e = assertThrows(BitstreamException.class, () -> f.requireFingerprint(other));
    assertTrue(e.getMessage().contains("different weights"), e.getMessage());

  }



  @Test
  void readNamesTheFile() throws Exception {
    Path p = tmp.resolve("broken.taco");
    Files.write(p, new byte[] {'T', 'A', 'C', 'O', 1});
    BitstreamException e = assertThrows(BitstreamException.class, () -> TacoFile.read(p));
    assertTrue(e.getMessage().contains("broken.taco"), e.getMessage());
  }
}
