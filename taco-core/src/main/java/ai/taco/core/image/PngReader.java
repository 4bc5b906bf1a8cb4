package ai.taco.core.image;

import ai.taco.core.error.ImageException;
import ai.taco.core.files.InputFiles;
import ai.taco.core.tensor.HostTensor;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A PNG read row by row (PNG specification, ISO/IEC 15948 / W3C PNG): the concatenated IDAT data is inflated one
 * scanline at a time and unfiltered with the row above, so only two rows of filtered data are held besides the output
 * planes, never a full-size {@code BufferedImage} or ImageIO's copies of it. The counterpart of {@link PngRows}.
 *
 * <p>Non-interlaced images of every colour type and bit depth are streamed: gray (1, 2, 4, 8, 16 bits), RGB (8, 16),
 * palette (1, 2, 4, 8), gray+alpha and RGBA (8, 16). Samples are converted as {@link Images#read(Path)} converts
 * javax.imageio's rasters, value for value: gray is replicated, alpha and tRNS are dropped, palettes are expanded,
 * 1/2/4-bit gray is scaled to 8 bits as javax.imageio's gray palette does ({@code v·255/(2^bits−1)}). Interlaced
 * (Adam7) images are left to javax.imageio ({@link #read} returns null).
 *
 * <p>The file is hostile until checked: every chunk's declared length is bounded by the file before anything is
 * read or allocated, every CRC is checked, the IHDR fields and the image size are checked before the output exists,
 * and image data that is corrupt, too short, too long or followed by extra data is refused, each with an {@link
 * ImageException} naming the file and the problem. Bytes after IEND are not read (javax.imageio ignores them too).
 */
final class PngReader {
  private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  /** Colour types (PNG spec. 11.2.2, table 11.1). */
  private static final int GRAY = 0;
  private static final int RGB = 2;
  private static final int PALETTE = 3;
  private static final int GRAY_ALPHA = 4;
  private static final int RGBA = 6;
  /** IHDR data: width, height (4 bytes each), bit depth, colour type, compression, filter, interlace (11.2.2). */
  private static final int IHDR_LENGTH = 13;
  /** Interlace methods (8.2): 0 none, 1 Adam7. */
  private static final int ADAM7 = 1;
  /** Chunk lengths, widths and heights are at most 2^31−1 (5.3, 11.2.2). */
  private static final long MAX_FIELD = Integer.MAX_VALUE;
  /** A palette holds at most 256 RGB entries (11.2.3). */
  private static final int MAX_PALETTE_BYTES = 3 * 256;
  /** Filter types of filter method 0: None, Sub, Up, Average, Paeth (9.2). */
  private static final int NONE = 0;
  private static final int SUB = 1;
  private static final int UP = 2;
  private static final int AVERAGE = 3;
  private static final int PAETH = 4;
  /** File buffer and compressed-input piece: large enough that system calls cost nothing, small enough to stream. */
  private static final int BUFFER = 1 << 16;
  /**
   * Inflate calls in a row that neither take input nor give output before the stream is called stuck. zlib always
   * progresses when it has input and output room, so one such call is already abnormal; a few are allowed for safety.
   */
  private static final int MAX_STALLS = 4;

  private final Path file;
  private final Source in;
  private final boolean compact;
  /** Limit on W×H checked at the IHDR ({@code 0}: none). */
  private final long maxPixels;
  private int width;
  private int height;
  private int bitDepth;
  private int colourType;
  private byte[] palette;
  private boolean transparency;

  private PngReader(Path file, Source in, boolean compact, long maxPixels) {
    this.file = file;
    this.in = in;
    this.compact = compact;
    this.maxPixels = maxPixels;
  }

  /** {@link #read(Path, boolean, long)} with the default pixel limit ({@link Images#DEFAULT_MAX_PIXELS}). */
  static HostTensor read(Path file, boolean compact) {
    return read(file, compact, Images.DEFAULT_MAX_PIXELS);
  }

  /**
   * Decodes {@code file} as {@link Images#read(Path)} ({@code compact} false: float32 in [0, 1]) or {@link
   * Images#readCompact(Path)} ({@code compact} true: UINT8 for 1- to 8-bit samples, float32 for 16-bit) does.
   *
   * @return the image [1, 3, H, W], or null if the file does not start with the PNG signature or is interlaced (for
   *     javax.imageio to read)
   * @throws ImageException if the file is a PNG that is corrupt, truncated, malformed or too large
   */
  static HostTensor read(Path file, boolean compact, long maxPixels) {
    try (InputStream s = Files.newInputStream(file)) {
      Source src = new Source(file, new BufferedInputStream(s, BUFFER), Files.size(file));
      byte[] sig = new byte[SIGNATURE.length];
      if (src.readUpTo(sig) < sig.length || !Arrays.equals(sig, SIGNATURE)) {
        return null;
      }
      return new PngReader(file, src, compact, maxPixels).decode();
    } catch (IOException e) {
      throw new ImageException(file + ": cannot read (" + InputFiles.reason(e) + ")", e);
    }
  }

  private HostTensor decode() throws IOException {
    Chunk c = nextChunk();
    if (!c.is("IHDR")) {
      throw corrupt("first chunk is " + c.name() + ", not IHDR");
    }
    if (c.length != IHDR_LENGTH) {
      throw corrupt("IHDR of " + c.length + " bytes, not " + IHDR_LENGTH);
    }
    byte[] h = new byte[IHDR_LENGTH];
    c.read(h, 0, h.length);
    c.end();
    if (!header(h)) {
      return null;
    }
    Images.Planes out = null;
    while (true) {
      c = nextChunk();
      if (c.is("IHDR")) {
        throw corrupt("second IHDR chunk");
      } else if (c.is("PLTE")) {
        readPalette(c, out != null);
      } else if (c.is("IDAT")) {
        if (out != null) {
          throw corrupt("IDAT chunks are not consecutive");
        }
        if (colourType == PALETTE && palette == null) {
          throw corrupt("palette image without a PLTE chunk before its image data");
        }
        warnIfConverted();
        out = Images.Planes.allocate(file, width, height, compact && bitDepth <= 8, bitDepth <= 8 ? 8 : 16);
        c = inflateRows(c, out);
        if (c.is("IEND")) {
          c.end();
          return out.tensor();
        } else if (c.is("IDAT") || c.is("PLTE") || c.is("IHDR")) {
          throw corrupt(c.name() + " chunk after the image data");
        }
        skip(c);
      } else if (c.is("IEND")) {
        if (out == null) {
          throw corrupt("no image data (IEND before any IDAT)");
        }
        c.end();
        return out.tensor();
      } else {
        if (c.is("tRNS")) {
          transparency = true;
        }
        skip(c);
      }
    }
  }

  /** Checks the IHDR fields; false for an interlaced image (left to javax.imageio). */
  private boolean header(byte[] h) {
    long w = u32(h, 0);
    long ht = u32(h, 4);
    bitDepth = h[8] & 0xff;
    colourType = h[9] & 0xff;
    int compression = h[10] & 0xff;
    int filter = h[11] & 0xff;
    int interlace = h[12] & 0xff;
    if (w == 0 || ht == 0) {
      throw new ImageException(file + ": image has zero size (" + w + "x" + ht + ")");
    }
    if (w > MAX_FIELD || ht > MAX_FIELD) {
      throw corrupt("IHDR size " + w + "x" + ht + " beyond the PNG limit of 2^31-1");
    }
    boolean valid = switch (colourType) {
      case GRAY -> bitDepth == 1 || bitDepth == 2 || bitDepth == 4 || bitDepth == 8 || bitDepth == 16;
      case PALETTE -> bitDepth == 1 || bitDepth == 2 || bitDepth == 4 || bitDepth == 8;
      case RGB, GRAY_ALPHA, RGBA -> bitDepth == 8 || bitDepth == 16;
      default -> false;
    };
    if (!valid) {
      throw corrupt("IHDR colour type " + colourType + " with bit depth " + bitDepth + " is not a PNG image type");
    }
    if (compression != 0 || filter != 0 || interlace > ADAM7) {
      throw corrupt("IHDR compression method " + compression + ", filter method " + filter + ", interlace method "
          + interlace + " (only 0, 0 and 0 or 1 exist)");
    }
    width = (int) w;
    height = (int) ht;
    // Checked before the interlace fallback too: the size limit holds whichever decoder runs.
    Images.requireHoldable(file, width, height, compact && bitDepth <= 8, maxPixels);
    return interlace != ADAM7;
  }

  private void readPalette(Chunk c, boolean afterData) throws IOException {
    if (afterData) {
      throw corrupt("PLTE chunk after the image data");
    }
    if (palette != null) {
      throw corrupt("second PLTE chunk");
    }
    if (colourType == GRAY || colourType == GRAY_ALPHA) {
      throw corrupt("PLTE chunk in a grayscale image");
    }
    if (c.length == 0 || c.length % 3 != 0 || c.length > MAX_PALETTE_BYTES) {
      throw corrupt("PLTE of " + c.length + " bytes (a multiple of 3, at most " + MAX_PALETTE_BYTES + ")");
    }
    byte[] p = new byte[(int) c.length];
    c.read(p, 0, p.length);
    c.end();
    if (colourType == PALETTE) {
      palette = p; // a suggested palette of an RGB image is not needed
    }
  }

  /** Samples per pixel of the colour type (table 11.1 of the PNG specification). */
  private int channels() {
    return switch (colourType) {
      case GRAY, PALETTE -> 1;
      case GRAY_ALPHA -> 2;
      case RGB -> 3;
      default -> 4;
    };
  }

  /**
   * Inflates the IDAT sequence starting at {@code c} row by row into {@code out}; returns the header of the first
   * chunk after the sequence.
   */
  private Chunk inflateRows(Chunk first, Images.Planes out) throws IOException {
    int channels = channels();
    int bitsPerPixel = channels * bitDepth;
    int rowBytes = Math.toIntExact(((long) width * bitsPerPixel + 7) / 8);
    int bpp = Math.max(1, bitsPerPixel / 8); // filter distance: bytes per complete pixel, at least 1 (9.2)
    byte[] prev = new byte[rowBytes + 1]; // filter byte, then the row; the row above the first is all zeros (9.2)
    byte[] cur = new byte[rowBytes + 1];
    int[] rgb = new int[3 * width];
    Idat idat = new Idat(first);
    Inflater inflater = new Inflater(); // zlib format (RFC 1950), as PNG compression method 0 requires (10.1)
    try {
      for (int y = 0; y < height; y++) {
        idat.fill(inflater, cur, y);
        unfilter(cur, prev, bpp, y);
        expand(cur, rgb);
        out.row(y, rgb);
        byte[] t = prev;
        prev = cur;
        cur = t;
      }
      idat.requireEnd(inflater);
      return idat.next;
    } finally {
      inflater.end();
    }
  }

  private void unfilter(byte[] cur, byte[] prev, int bpp, int y) {
    int type = cur[0] & 0xff;
    int n = cur.length;
    switch (type) {
      case NONE -> { }
      case SUB -> {
        for (int i = 1 + bpp; i < n; i++) {
          cur[i] += cur[i - bpp];
        }
      }
      case UP -> {
        for (int i = 1; i < n; i++) {
          cur[i] += prev[i];
        }
      }
      case AVERAGE -> {
        for (int i = 1; i < n; i++) {
          int a = i > bpp ? cur[i - bpp] & 0xff : 0;
          cur[i] += (byte) ((a + (prev[i] & 0xff)) >>> 1);
        }
      }
      case PAETH -> {
        for (int i = 1; i < n; i++) {
          int a = i > bpp ? cur[i - bpp] & 0xff : 0;
          int c = i > bpp ? prev[i - bpp] & 0xff : 0;
          cur[i] += (byte) paeth(a, prev[i] & 0xff, c);
        }
      }
      default -> throw corrupt("row " + y + " has filter type " + type + " (0-4 exist)");
    }
  }

  /** The Paeth predictor (9.4): of a (left), b (above), c (upper left) the nearest to a + b − c, ties in that order. */
  static int paeth(int a, int b, int c) {
    int p = a + b - c;
    int pa = Math.abs(p - a);
    int pb = Math.abs(p - b);
    int pc = Math.abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
  }

  /** The unfiltered row {@code row[1..]} as R G B samples (8-bit, or 16-bit for 16-bit images) into {@code rgb}. */
  private void expand(byte[] row, int[] rgb) {
    int w = width;
    if (bitDepth < 8) {
      int perByte = 8 / bitDepth;
      int mask = (1 << bitDepth) - 1;
      // javax.imageio reads 1/2/4-bit gray through a gray palette of v·255/(2^bits−1); 255 is divisible by 1, 3, 15.
      int grayScale = 255 / mask;
      for (int x = 0; x < w; x++) {
        int shift = 8 - bitDepth * (x % perByte + 1);
        int v = (row[1 + x / perByte] >>> shift) & mask;
        if (colourType == PALETTE) {
          paletteEntry(v, rgb, x);
        } else {
          int g = v * grayScale;
          rgb[3 * x] = g;
          rgb[3 * x + 1] = g;
          rgb[3 * x + 2] = g;
        }
      }
      return;
    }
    int bytes = bitDepth / 8;
    int channels = channels();
    int stride = channels * bytes;
    for (int x = 0; x < w; x++) {
      int p = 1 + x * stride;
      if (colourType == PALETTE) {
        paletteEntry(row[p] & 0xff, rgb, x);
      } else if (channels <= 2) {
        int g = sample(row, p, bytes);
        rgb[3 * x] = g;
        rgb[3 * x + 1] = g;
        rgb[3 * x + 2] = g;
      } else {
        rgb[3 * x] = sample(row, p, bytes);
        rgb[3 * x + 1] = sample(row, p + bytes, bytes);
        rgb[3 * x + 2] = sample(row, p + 2 * bytes, bytes);
      }
    }
  }

  /** An 8- or 16-bit (big-endian, 7.1) sample. */
  private static int sample(byte[] row, int p, int bytes) {
    return bytes == 1 ? row[p] & 0xff : (row[p] & 0xff) << 8 | (row[p + 1] & 0xff);
  }

  private void paletteEntry(int index, int[] rgb, int x) {
    if (3 * index >= palette.length) {
      throw corrupt("palette index " + index + " beyond the " + palette.length / 3 + " PLTE entries");
    }
    rgb[3 * x] = palette[3 * index] & 0xff;
    rgb[3 * x + 1] = palette[3 * index + 1] & 0xff;
    rgb[3 * x + 2] = palette[3 * index + 2] & 0xff;
  }

  private void warnIfConverted() {
    if (colourType == PALETTE) {
      Images.warnPalette(file);
    } else {
      boolean alpha = colourType == GRAY_ALPHA || colourType == RGBA || transparency;
      Images.warnIfConverted(file, colourType == RGB || colourType == RGBA ? 3 : 1, alpha, Math.max(8, bitDepth));
    }
  }

  private void skip(Chunk c) throws IOException {
    if (!c.ancillary()) {
      throw corrupt("unknown critical chunk " + c.name());
    }
    byte[] buf = new byte[(int) Math.min(BUFFER, c.length)];
    for (long left = c.length; left > 0; ) {
      int k = (int) Math.min(buf.length, left);
      c.read(buf, 0, k);
      left -= k;
    }
    c.end();
  }

  private Chunk nextChunk() throws IOException {
    byte[] h = new byte[8];
    in.readFully(h, "chunk header");
    long length = u32(h, 0);
    String type = new String(h, 4, 4, StandardCharsets.ISO_8859_1);
    for (int i = 4; i < 8; i++) {
      char t = (char) (h[i] & 0xff);
      if (!(t >= 'A' && t <= 'Z' || t >= 'a' && t <= 'z')) { // chunk types are ASCII letters (5.3)
        throw corrupt("bad chunk type bytes " + Arrays.toString(Arrays.copyOfRange(h, 4, 8)));
      }
    }
    if (length > MAX_FIELD) {
      throw corrupt("chunk " + type + " declares " + length + " bytes, beyond the PNG limit of 2^31-1");
    }
    long crcBytes = 4;
    if (length + crcBytes > in.remaining()) {
      throw corrupt("truncated: chunk " + type + " declares " + length + " bytes but the file has " + in.remaining()
          + " left (with its 4-byte CRC)");
    }
    CRC32 crc = new CRC32();
    crc.update(h, 4, 4); // the CRC covers type and data, not the length (5.3)
    return new Chunk(type, length, crc);
  }

  private static long u32(byte[] b, int p) {
    return (b[p] & 0xffL) << 24 | (b[p + 1] & 0xff) << 16 | (b[p + 2] & 0xff) << 8 | (b[p + 3] & 0xff);
  }

  private ImageException corrupt(String what) {
    return new ImageException(file + ": corrupt PNG: " + what);
  }

  /** One chunk being read: its data through {@link #read}, then {@link #end} checks the CRC. */
  private final class Chunk {
    final String type;
    final long length;
    private final CRC32 crc;
    private long left;

    Chunk(String type, long length, CRC32 crc) {
      this.type = type;
      this.length = length;
      this.crc = crc;
      this.left = length;
    }

    boolean is(String t) {
      return type.equals(t);
    }

    String name() {
      return type;
    }

    /** Ancillary chunks have a lower-case first letter (5.4); unknown ones may be skipped. */
    boolean ancillary() {
      return Character.isLowerCase(type.charAt(0));
    }

    long left() {
      return left;
    }

    void read(byte[] b, int off, int len) throws IOException {
      if (len > left) {
        throw new IllegalStateException("read past chunk " + type);
      }
      in.readFully(b, off, len, "chunk " + type);
      crc.update(b, off, len);
      left -= len;
    }

    void end() throws IOException {
      byte[] c = new byte[4];
      in.readFully(c, "CRC of chunk " + type);
      if (u32(c, 0) != crc.getValue()) {
        throw corrupt("CRC mismatch in chunk " + type + " (stored " + Long.toHexString(u32(c, 0)) + ", computed "
            + Long.toHexString(crc.getValue()) + ")");
      }
    }
  }

  /** The IDAT sequence as the inflater's input, read a piece at a time. */
  private final class Idat {
    private final byte[] piece = new byte[BUFFER];
    private Chunk chunk;
    /** The chunk after the sequence, once reached. */
    Chunk next;

    Idat(Chunk first) {
      chunk = first;
    }

    /** Gives the inflater its next piece; false at the end of the IDAT sequence. */
    private boolean feed(Inflater inflater) throws IOException {
      while (chunk.left() == 0) {
        if (next != null) {
          return false;
        }
        chunk.end();
        Chunk c = nextChunk();
        if (!c.is("IDAT")) {
          next = c;
          return false;
        }
        chunk = c;
      }
      int k = (int) Math.min(piece.length, chunk.left());
      chunk.read(piece, 0, k);
      inflater.setInput(piece, 0, k);
      return true;
    }

    /** Fills {@code row} (row {@code y}, filter byte first) with inflated image data. */
    void fill(Inflater inflater, byte[] row, int y) throws IOException {
      int got = 0;
      int stalls = 0;
      while (got < row.length) {
        int k = inflate(inflater, row, got, row.length - got);
        got += k;
        if (k > 0) {
          stalls = 0;
        } else if (inflater.finished()) {
          throw corrupt("image data too short: it ends in row " + y + " of " + height);
        } else if (inflater.needsInput()) {
          if (!feed(inflater)) {
            throw corrupt("image data too short: the IDAT chunks end in row " + y + " of " + height);
          }
        } else if (++stalls > MAX_STALLS) {
          throw corrupt("the compressed image data makes no progress in row " + y);
        }
      }
    }

    /**
     * After the last row: the zlib stream must end there (its checksum is read and checked), and no compressed data
     * may follow it in the IDAT chunks.
     */
    void requireEnd(Inflater inflater) throws IOException {
      byte[] one = new byte[1];
      int stalls = 0;
      while (!inflater.finished()) {
        if (inflate(inflater, one, 0, 1) > 0) {
          throw corrupt("too much image data: more than " + height + " rows of " + width + " pixels");
        }
        if (inflater.finished()) {
          break;
        } else if (inflater.needsInput()) {
          if (!feed(inflater)) {
            throw corrupt("image data truncated: the compressed stream does not end");
          }
        } else if (++stalls > MAX_STALLS) {
          throw corrupt("the compressed image data makes no progress after the last row");
        }
      }
      long extra = inflater.getRemaining() + chunk.left();
      while (extra == 0 && next == null) {
        chunk.end();
        Chunk c = nextChunk();
        if (c.is("IDAT")) {
          extra = c.length; // an empty IDAT is harmless
          chunk = c;
        } else {
          next = c;
        }
      }
      if (extra > 0) {
        throw corrupt("extra data: at least " + extra + " bytes of IDAT data after the end of the compressed image");
      }
    }

    private int inflate(Inflater inflater, byte[] b, int off, int len) {
      try {
        int k = inflater.inflate(b, off, len);
        if (k == 0 && inflater.needsDictionary()) {
          throw corrupt("compressed image data asks for a preset dictionary, which PNG does not allow");
        }
        return k;
      } catch (DataFormatException e) {
        throw new ImageException(file + ": corrupt PNG: bad compressed image data (" + e.getMessage() + ")", e);
      }
    }
  }

  /** The file's bytes with the count of what is left, so that no declared length can run past the end. */
  private static final class Source {
    private final Path file;
    private final InputStream in;
    private long left;

    Source(Path file, InputStream in, long size) {
      this.file = file;
      this.in = in;
      this.left = size;
    }

    long remaining() {
      return left;
    }

    /** Reads up to b.length bytes; returns how many there were. */
    int readUpTo(byte[] b) throws IOException {
      int n = in.readNBytes(b, 0, b.length);
      left -= n;
      return n;
    }

    void readFully(byte[] b, String what) throws IOException {
      readFully(b, 0, b.length, what);
    }

    void readFully(byte[] b, int off, int len, String what) throws IOException {
      int n = in.readNBytes(b, off, len);
      left -= n;
      if (n < len) {
        throw new ImageException(file + ": corrupt PNG: truncated: the file ends inside the " + what);
      }
    }
  }
}
