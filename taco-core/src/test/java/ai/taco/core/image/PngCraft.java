package ai.taco.core.image;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * PNG files written byte by byte for the reader's tests: any colour type and bit depth, the filter type of every row
 * chosen by the test, IDAT split into chunks of a chosen size, and every field open to corruption.
 */
final class PngCraft {
  static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

  private PngCraft() {}

  /** Channels of a colour type (PNG spec. table 11.1). */
  static int channels(int colourType) {
    return switch (colourType) {
      case 0, 3 -> 1;
      case 4 -> 2;
      case 2 -> 3;
      case 6 -> 4;
      default -> throw new IllegalArgumentException("colour type " + colourType);
    };
  }

  static int rowBytes(int width, int colourType, int bitDepth) {
    return (width * channels(colourType) * bitDepth + 7) / 8;
  }

  static byte[] ihdr(long width, long height, int bitDepth, int colourType, int interlace) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    DataOutputStream d = new DataOutputStream(b);
    d.writeInt((int) width);
    d.writeInt((int) height);
    d.write(new byte[] {(byte) bitDepth, (byte) colourType, 0, 0, (byte) interlace});
    return b.toByteArray();
  }

  static void chunk(ByteArrayOutputStream out, String type, byte[] data) throws IOException {
    DataOutputStream d = new DataOutputStream(out);
    byte[] t = type.getBytes(StandardCharsets.US_ASCII);
    d.writeInt(data.length);
    d.write(t);
    d.write(data);
    CRC32 crc = new CRC32();
    crc.update(t);
    crc.update(data);
    d.writeInt((int) crc.getValue());
  }

  /**
   * {@code rows} (raw, unfiltered scanlines of {@link #rowBytes} each), row y filtered with type {@code filters[y %
   * filters.length]}, as the zlib stream of the image data.
   */
  static byte[] filteredStream(byte[][] rows, int bpp, int[] filters) {
    ByteArrayOutputStream raw = new ByteArrayOutputStream();
    byte[] prev = new byte[rows[0].length];
    for (int y = 0; y < rows.length; y++) {
      int f = filters[y % filters.length];
      raw.write(f);
      raw.writeBytes(filter(rows[y], prev, bpp, f));
      prev = rows[y];
    }
    return deflate(raw.toByteArray());
  }

  /** One row filtered by type f (PNG spec. 9.2), written from the definitions, independently of the reader. */
  static byte[] filter(byte[] row, byte[] prev, int bpp, int f) {
    byte[] out = new byte[row.length];
    for (int i = 0; i < row.length; i++) {
      int x = row[i] & 0xff;
      int a = i >= bpp ? row[i - bpp] & 0xff : 0;
      int b = prev[i] & 0xff;
      int c = i >= bpp ? prev[i - bpp] & 0xff : 0;
      int pred = switch (f) {
        case 0 -> 0;
        case 1 -> a;
        case 2 -> b;
        case 3 -> (a + b) / 2;
        case 4 -> {
          int p = a + b - c;
          int pa = Math.abs(p - a);
          int pb = Math.abs(p - b);
          int pc = Math.abs(p - c);
          yield pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        }
        default -> throw new IllegalArgumentException("filter " + f);
      };
      out[i] = (byte) (x - pred);
    }
    return out;
  }

  static byte[] deflate(byte[] data) {
    Deflater d = new Deflater(Deflater.BEST_SPEED);
    try {
      d.setInput(data);
      d.finish();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      while (!d.finished()) {
        out.write(buf, 0, d.deflate(buf));
      }
      return out.toByteArray();
    } finally {
      d.end();
    }
  }

  /** A PNG: IHDR, a tEXt, optional PLTE and tRNS, {@code stream} cut into IDATs of {@code idatSize} bytes, IEND. */
  static byte[] png(byte[] ihdr, byte[] palette, byte[] trns, byte[] stream, int idatSize) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(SIGNATURE);
    chunk(out, "IHDR", ihdr);
    chunk(out, "tEXt", "Comment\0crafted by PngCraft".getBytes(StandardCharsets.ISO_8859_1));
    if (palette != null) {
      chunk(out, "PLTE", palette);
    }
    if (trns != null) {
      chunk(out, "tRNS", trns);
    }
    for (int off = 0; off < stream.length; off += idatSize) {
      chunk(out, "IDAT", java.util.Arrays.copyOfRange(stream, off, Math.min(stream.length, off + idatSize)));
    }
    chunk(out, "IEND", new byte[0]);
    return out.toByteArray();
  }
}
