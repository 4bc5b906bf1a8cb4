package ai.taco.core.image;

import ai.taco.core.error.ImageException;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crafted PNGs the streaming reader must refuse with an {@link ImageException} naming the file and the problem: never a
 * hang, an OutOfMemoryError, another exception or silent garbage.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PngReaderHostileTest {
  private static final int W = 6;
  private static final int H = 5;

  @TempDir Path tmp;

  /** W×H 8-bit RGB rows of a ramp. */
  private static byte[][] rows(int h) {
    byte[][] rows = new byte[h][3 * W];
    for (int y = 0; y < h; y++) {
      for (int i = 0; i < 3 * W; i++) {
        rows[y][i] = (byte) (7 * i + 31 * y);
      }
    }
    return rows;
  }

  private static byte[] rgbPng(byte[] ihdr, byte[] stream) throws Exception {
    return PngCraft.png(ihdr, null, null, stream, 1 << 12);
  }

  private static byte[] ihdr() throws Exception {
    return PngCraft.ihdr(W, H, 8, 2, 0);
  }

  private static byte[] valid() throws Exception {
    return rgbPng(ihdr(), PngCraft.filteredStream(rows(H), 3, new int[] {0, 1, 2, 3, 4}));
  }

  /** Writes {@code png}; both read forms must refuse it with a message naming the file and holding {@code what}. */
  private void assertRefused(byte[] png, String name, String what) throws Exception {
    Path p = tmp.resolve(name + ".png");
    Files.write(p, png);
    for (boolean compact : new boolean[] {false, true}) {
      ImageException e = assertThrows(ImageException.class,
          () -> (compact ? Images.readCompact(p) : Images.read(p)).shape(), name);
      String m = e.getMessage();
      assertTrue(m.startsWith(p.toString()) && m.contains(what), name + ": " + m);
      assertTrue(!m.contains("\n"), m);
    }
  }

  /** Offset of the first chunk of {@code type} (its length field). */
  private static int chunkAt(byte[] png, String type) {
    for (int off = PngCraft.SIGNATURE.length; off + 8 <= png.length; ) {
      int len = ((png[off] & 0xff) << 24) | ((png[off + 1] & 0xff) << 16) | ((png[off + 2] & 0xff) << 8)
          | (png[off + 3] & 0xff);
      if (new String(png, off + 4, 4, java.nio.charset.StandardCharsets.US_ASCII).equals(type)) {
        return off;
      }
      off += 12 + len;
    }
    throw new AssertionError("no " + type);
  }

  @Test
  void theValidFileIsRead() throws Exception {
    Path p = tmp.resolve("valid.png");
    Files.write(p, valid());
    assertArrayEquals(PngReaderTest.imageIoReference(p), Images.read(p).toFloatArray());
  }

  @Test
  void everyTruncationIsRefused() throws Exception {
    byte[] png = valid();
    for (int n = PngCraft.SIGNATURE.length; n < png.length; n++) {
      assertRefused(Arrays.copyOf(png, n), "cut" + n, "corrupt PNG");
    }
  }

  @Test
  void aChunkLongerThanTheFileIsRefusedBeforeAllocating() throws Exception {
    byte[] png = valid();
    int idat = chunkAt(png, "IDAT");
    byte[] huge = png.clone();
    huge[idat] = 0x7f; // IDAT declares 2^31-1 bytes in a file of a few hundred
    huge[idat + 1] = (byte) 0xff;
    huge[idat + 2] = (byte) 0xff;
    huge[idat + 3] = (byte) 0xff;
    assertRefused(huge, "long-idat", "truncated: chunk IDAT declares 2147483647 bytes");
    byte[] beyond = png.clone();
    beyond[idat] = (byte) 0x80; // 2^31: beyond what PNG allows at all
    assertRefused(beyond, "beyond-limit", "beyond the PNG limit");
  }

  @Test
  void aBadCrcInAnyChunkIsRefused() throws Exception {
    byte[] png = valid();
    for (String type : new String[] {"IHDR", "tEXt", "IDAT", "IEND"}) {
      byte[] bad = png.clone();
      int off = chunkAt(png, type);
      int len = ((bad[off + 2] & 0xff) << 8) | (bad[off + 3] & 0xff);
      bad[off + 8 + len] ^= 0x01; // first CRC byte
      assertRefused(bad, "crc-" + type, "CRC mismatch in chunk " + type);
    }
  }

  @Test
  void aBadFilterTypeIsRefused() throws Exception {
    ByteArrayOutputStream raw = new ByteArrayOutputStream();
    for (byte[] row : rows(H)) {
      raw.write(5); // filter types are 0-4
      raw.writeBytes(row);
    }
    assertRefused(rgbPng(ihdr(), PngCraft.deflate(raw.toByteArray())), "filter5", "row 0 has filter type 5");
  }

  @Test
  void badHeadersAreRefused() throws Exception {
    byte[] stream = PngCraft.filteredStream(rows(H), 3, new int[] {0});
    assertRefused(rgbPng(PngCraft.ihdr(0, H, 8, 2, 0), stream), "zero-width", "zero size (0x5)");
    assertRefused(rgbPng(PngCraft.ihdr(W, 0, 8, 2, 0), stream), "zero-height", "zero size (6x0)");
    assertRefused(rgbPng(PngCraft.ihdr(W, H, 4, 2, 0), stream), "rgb4", "colour type 2 with bit depth 4");
    assertRefused(rgbPng(PngCraft.ihdr(W, H, 8, 5, 0), stream), "type5", "colour type 5");
    assertRefused(rgbPng(PngCraft.ihdr(W, H, 8, 2, 2), stream), "interlace2", "interlace method 2");
    byte[] shortIhdr = Arrays.copyOf(ihdr(), 12);
    assertRefused(rgbPng(shortIhdr, stream), "ihdr12", "IHDR of 12 bytes");
    byte[] noIhdr = valid();
    int ihdr = chunkAt(noIhdr, "IHDR");
    System.arraycopy("IHDX".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, noIhdr, ihdr + 4, 4);
    assertRefused(noIhdr, "no-ihdr", "first chunk is IHDX");
  }

  /** Sizes whose planes could not be held are refused from the 13 header bytes, before the output exists. */
  @Test
  void oversizeHeadersAreRefusedBeforeAllocating() throws Exception {
    byte[] stream = PngCraft.filteredStream(rows(1), 3, new int[] {0});
    assertRefused(rgbPng(PngCraft.ihdr(Images.MAX_SIDE + 1, 1, 8, 2, 0), stream), "wide", "too large");
    assertRefused(rgbPng(PngCraft.ihdr(0x80000000L, 1, 8, 2, 0), stream), "2^31", "beyond the PNG limit");
    // Within the side limit, beyond the pixel limit of both forms (30000^2 > 2^31/3 bytes planes)
    byte[] big = rgbPng(PngCraft.ihdr(30000, 30000, 8, 2, 0), stream);
    assertRefused(big, "30k", "(900000000 pixels) is too large");
    Path p30 = tmp.resolve("30k.png");
    ImageException e30 = assertThrows(ImageException.class, () -> Images.readCompact(p30));
    assertTrue(e30.getMessage().contains(Images.MAX_COMPACT_PIXELS + " pixels"), e30.getMessage());
    // 16384^2 is beyond the float planes' limit, within the byte planes': read refuses it, and so does readCompact
    // for 16-bit samples (kept as floats); 8-bit samples pass the check (not run: it would allocate 768 MiB).
    Path p = tmp.resolve("16k.png");
    Files.write(p, rgbPng(PngCraft.ihdr(16384, 16384, 8, 2, 0), stream));
    ImageException f = assertThrows(ImageException.class, () -> Images.read(p));
    assertTrue(f.getMessage().contains(Images.MAX_PIXELS + " pixels"), f.getMessage());
    assertRefused(rgbPng(PngCraft.ihdr(16384, 16384, 16, 2, 0), stream), "16k-16bit", Images.MAX_PIXELS + " pixels");
    Images.requireHoldable(p, 16384, 16384, true, 0);
  }

  @Test
  void tooLittleImageDataIsRefused() throws Exception {
    assertRefused(rgbPng(ihdr(), PngCraft.filteredStream(rows(H - 1), 3, new int[] {1})), "short-rows",
        "image data too short: it ends in row 4 of 5");
    // The rows are all there but the zlib stream stops short of its end (no final block, no checksum).
    byte[] full = PngCraft.filteredStream(rows(H), 3, new int[] {0});
    ByteArrayOutputStream raw = new ByteArrayOutputStream();
    for (byte[] row : rows(H)) {
      raw.write(0);
      raw.writeBytes(row);
    }
    Deflater d = new Deflater();
    d.setInput(raw.toByteArray());
    byte[] buf = new byte[4096];
    int n = d.deflate(buf, 0, buf.length, Deflater.SYNC_FLUSH);
    d.end();
    assertRefused(rgbPng(ihdr(), Arrays.copyOf(buf, n)), "unterminated", "the compressed stream does not end");
    // The IDAT chunks cut short mid-row (the file itself is well formed).
    assertRefused(rgbPng(ihdr(), Arrays.copyOf(full, full.length / 2)), "half-stream", "image data too short");
  }

  @Test
  void tooMuchImageDataIsRefused() throws Exception {
    assertRefused(rgbPng(ihdr(), PngCraft.filteredStream(rows(H + 1), 3, new int[] {0})), "extra-row",
        "too much image data");
    byte[] stream = PngCraft.filteredStream(rows(H), 3, new int[] {0});
    byte[] trailing = Arrays.copyOf(stream, stream.length + 3); // garbage after the zlib stream's end
    assertRefused(rgbPng(ihdr(), trailing), "trailing", "extra data");
    // A further, separate IDAT after the stream's end.
    byte[] png = rgbPng(ihdr(), stream);
    int iend = chunkAt(png, "IEND");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(png, 0, iend);
    PngCraft.chunk(out, "IDAT", new byte[] {1, 2});
    out.write(png, iend, png.length - iend);
    assertRefused(out.toByteArray(), "extra-idat", "extra data");
    // An empty IDAT after the end is harmless.
    out.reset();
    out.write(png, 0, iend);
    PngCraft.chunk(out, "IDAT", new byte[0]);
    out.write(png, iend, png.length - iend);
    Path ok = tmp.resolve("empty-idat.png");
    Files.write(ok, out.toByteArray());
    assertNotNull(PngReader.read(ok, true));
  }

  @Test
  void corruptCompressedDataAndPresetDictionariesAreRefused() throws Exception {
    byte[] stream = PngCraft.filteredStream(rows(H), 3, new int[] {0});
    byte[] bad = stream.clone();
    bad[0] = 0x79; // not a zlib header (CMF must be 0x?8 with a matching check)
    assertRefused(rgbPng(ihdr(), bad), "zlib-header", "bad compressed image data");
    Deflater d = new Deflater();
    d.setDictionary(new byte[] {1, 2, 3});
    d.setInput(new byte[H * (1 + 3 * W)]);
    d.finish();
    byte[] buf = new byte[4096];
    int n = d.deflate(buf);
    d.end();
    assertRefused(rgbPng(ihdr(), Arrays.copyOf(buf, n)), "dictionary", "preset dictionary");
  }

  @Test
  void chunkOrderAndPaletteErrorsAreRefused() throws Exception {
    byte[] stream = PngCraft.filteredStream(rows(H), 3, new int[] {0});
    byte[] png = rgbPng(ihdr(), stream);
    int idat = chunkAt(png, "IDAT");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(png, 0, idat);
    PngCraft.chunk(out, "IEND", new byte[0]);
    assertRefused(out.toByteArray(), "no-idat", "no image data");
    out.reset();
    out.write(png, 0, idat);
    PngCraft.chunk(out, "QXYZ", new byte[3]);
    out.write(png, idat, png.length - idat);
    assertRefused(out.toByteArray(), "critical", "unknown critical chunk QXYZ");
    // Palette image: indices 0..3 over a 2-entry palette, and one without PLTE.
    byte[][] idx = new byte[2][W];
    for (int i = 0; i < W; i++) {
      idx[0][i] = (byte) (i % 4);
      idx[1][i] = 0;
    }
    byte[] pal = PngCraft.filteredStream(idx, 1, new int[] {0});
    byte[] ihdrPal = PngCraft.ihdr(W, 2, 8, 3, 0);
    assertRefused(PngCraft.png(ihdrPal, new byte[6], null, pal, 99), "index", "palette index 2 beyond the 2 PLTE");
    assertRefused(PngCraft.png(ihdrPal, null, null, pal, 99), "no-plte", "without a PLTE chunk");
    assertRefused(PngCraft.png(ihdrPal, new byte[7], null, pal, 99), "plte7", "PLTE of 7 bytes");
    assertRefused(PngCraft.png(PngCraft.ihdr(W, 2, 8, 0, 0), new byte[6], null, pal, 99), "gray-plte",
        "PLTE chunk in a grayscale image");
  }

  /**
   * Random corruptions of a valid file, CRCs recomputed so they reach the decoder: each read ends in an image or an
   * ImageException, nothing else.
   */
  @Test
  void randomCorruptionsGiveAnImageOrAnImageException() throws Exception {
    byte[] png = PngCraft.png(PngCraft.ihdr(3 * W, H, 8, 3, 0), new byte[3 * 256], new byte[] {1},
        PngCraft.filteredStream(rows(H), 1, new int[] {0, 1, 2, 3, 4}), 17);
    Random r = new Random(9);
    Path p = tmp.resolve("fuzz.png");
    int refused = 0;
    for (int i = 0; i < 2000; i++) {
      byte[] bad = png.clone();
      for (int k = 1 + r.nextInt(3); k > 0; k--) {
        bad[PngCraft.SIGNATURE.length + r.nextInt(bad.length - PngCraft.SIGNATURE.length)] = (byte) r.nextInt(256);
      }
      fixCrcs(bad);
      Files.write(p, bad);
      try {
        Images.readCompact(p);
      } catch (ImageException e) {
        refused++;
      } catch (RuntimeException e) {
        fail("corruption " + i + " gave " + e, e);
      }
    }
    assertTrue(refused > 100, "refused " + refused);
  }

  /** Recomputes the CRC of every chunk whose length stays inside the file. */
  private static void fixCrcs(byte[] png) {
    int off = PngCraft.SIGNATURE.length;
    while (off + 12 <= png.length) {
      long len = ((png[off] & 0xffL) << 24) | ((png[off + 1] & 0xff) << 16) | ((png[off + 2] & 0xff) << 8)
          | (png[off + 3] & 0xff);
      if (off + 12 + len > png.length) {
        return;
      }
      CRC32 crc = new CRC32();
      crc.update(png, off + 4, 4 + (int) len);
      int c = (int) crc.getValue();
      int at = off + 8 + (int) len;
      png[at] = (byte) (c >>> 24);
      png[at + 1] = (byte) (c >>> 16);
      png[at + 2] = (byte) (c >>> 8);
      png[at + 3] = (byte) c;
      off = at + 4;
    }
  }
}
