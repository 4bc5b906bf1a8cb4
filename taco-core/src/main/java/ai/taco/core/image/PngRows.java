package ai.taco.core.image;

import ai.taco.core.error.ImageException;
import ai.taco.core.files.AtomicFiles;
import ai.taco.core.tensor.HostTensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import java.util.function.Consumer;

/**
 * An 8-bit RGB PNG written row by row (PNG specification, ISO/IEC 15948): the encoder holds two rows, never the whole
 * image, so a decoded image is written without the full-size {@code BufferedImage} and ImageIO's copies of it. Each
 * row gets the filter (None, Sub, Up, Average, Paeth) with the smallest sum of absolute filtered bytes, the usual
 * heuristic of the specification's section 12.8.
 */
final class PngRows {
  /** IDAT chunk payload size: large enough that chunk headers cost nothing, small enough to stream. */
  private static final int CHUNK = 1 << 16;
  private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

  /** Fills {@code rgb} (3·width bytes, R G B per pixel) with row {@code y}; rows are asked for top to bottom. */
  @FunctionalInterface
  public interface RowSource {
    void row(int y, byte[] rgb);
  }

  private PngRows() {}

  /**
   * Writes planar floats [1,3,H,W] or [3,H,W] in [0,1] as a PNG, each sample {@code round(clamp(x, 0, 1)·255)} as
   * {@link Images#writePng(HostTensor, Path, boolean)} does, atomically (temporary file, then move).
   */
  public static void write(HostTensor image, Path file, boolean overwrite) {
    long[] s = image.shape();
    if (!((s.length == 4 && s[0] == 1 && s[1] == 3) || (s.length == 3 && s[0] == 3))) {
      throw new IllegalArgumentException("expected an image of shape [1, 3, H, W] or [3, H, W], got "
          + java.util.Arrays.toString(s));
    }
    int h = Math.toIntExact(s[s.length - 2]);
    int w = Math.toIntExact(s[s.length - 1]);
    java.nio.FloatBuffer f = image.toFloat32().data().asFloatBuffer(); // data() is little-endian
    long plane = (long) h * w;
    AtomicFiles.write(file, overwrite, o -> write(o, w, h, (y, rgb) -> {
      for (int x = 0; x < w; x++) {
        long i = (long) y * w + x;
        for (int c = 0; c < 3; c++) {
          rgb[3 * x + c] = (byte) Images.toByte(f.get(Math.toIntExact(c * plane + i)));
        }
      }
    }), ImageException::new);
  }

  /** Writes a {@code width}×{@code height} 8-bit RGB PNG to {@code out}, pulling rows from {@code rows}. */
  public static void write(OutputStream out, int width, int height, RowSource rows) throws IOException {
    try (Writer w = new Writer(out, width, height)) {
      byte[] rgb = new byte[3 * width];
      for (int y = 0; y < height; y++) {
        rows.row(y, rgb);
        w.row(rgb);
      }
      w.finish();
    }
  }

  /**
   * Writes planar float bands [3,rows,W] or [1,3,rows,W] (values in [0,1], each sample {@code round(clamp(x, 0, 1)·255)}
   * as {@link #write(HostTensor, Path, boolean)} does) as they come, top to bottom, into a {@code width}×{@code height}
   * PNG in {@code out}: the bytes of writing the assembled image. Fails if a band does not fit or the rows do not add
   * up to {@code height}.
   */
  static void writeBands(OutputStream out, int width, int height, java.util.function.Consumer<Consumer<HostTensor>> bands)
      throws IOException {
    try (Writer w = new Writer(out, width, height)) {
      byte[] rgb = new byte[3 * width];
      try {
        bands.accept(band -> w.band(band, rgb));
      } catch (java.io.UncheckedIOException e) {
        throw e.getCause(); // the output failed: reported as the file not being writable
      }
      w.finish();
    }
  }

  /**
   * A PNG pushed row by row: the header when created, then {@link #row} for each of the {@code height} rows, top to
   * bottom, then {@link #finish}. {@link #close()} releases the compressor (also after a failure).
   */
  static final class Writer implements AutoCloseable {
    private final OutputStream out;
    private final int width;
    private final int height;
    private final Deflater deflater = new Deflater(Deflater.DEFAULT_COMPRESSION);
    private final DeflaterOutputStream z;
    private byte[] prev;
    private byte[] cur;
    private final byte[][] filtered;
    private int y;

    Writer(OutputStream out, int width, int height) throws IOException {
      if (width <= 0 || height <= 0 || 3L * width + 1 > Integer.MAX_VALUE) {
        deflater.end();
        throw new IllegalArgumentException("bad PNG size " + width + "x" + height);
      }
      this.out = out;
      this.width = width;
      this.height = height;
      out.write(SIGNATURE);
      ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
      writeInt(ihdr, width);
      writeInt(ihdr, height);
      ihdr.write(new byte[] {8, 2, 0, 0, 0}); // bit depth 8, colour type 2 (RGB), deflate, adaptive filters, no interlace
      chunk(out, "IHDR", ihdr.toByteArray(), ihdr.size());
      int stride = 3 * width;
      prev = new byte[stride];
      cur = new byte[stride];
      filtered = new byte[5][stride + 1];
      z = new DeflaterOutputStream(new IdatStream(out), deflater, CHUNK);
    }

    /** The next row: 3·width bytes, R G B per pixel. */
    void row(byte[] rgb) throws IOException {
      if (rgb.length != cur.length) {
        throw new IllegalArgumentException("a row of a " + width + "-pixel wide PNG has " + cur.length + " bytes, got "
            + rgb.length);
      }
      if (y >= height) {
        throw new ImageException("more than the " + height + " rows of the PNG");
      }
      System.arraycopy(rgb, 0, cur, 0, cur.length);
      z.write(bestFilter(cur, prev, filtered));
      byte[] t = prev;
      prev = cur;
      cur = t;
      y++;
    }

    /** The rows of a planar float band [3,rows,W] or [1,3,rows,W], quantised as {@link Images#toByte}. */
    void band(HostTensor band, byte[] rgb) {
      long[] s = band.shape();
      boolean planar = (s.length == 4 && s[0] == 1 && s[1] == 3) || (s.length == 3 && s[0] == 3);
      if (!planar || s[s.length - 1] != width) {
        throw new ImageException("expected a band of shape [3, rows, " + width + "], got " + java.util.Arrays.toString(s));
      }
      int rows = Math.toIntExact(s[s.length - 2]);
      if (rows > height - y) {
        throw new ImageException("a band of " + rows + " rows after " + y + " of the PNG's " + height);
      }
      java.nio.FloatBuffer f = band.toFloat32().data().asFloatBuffer(); // data() is little-endian
      int plane = rows * width;
      try {
        for (int r = 0; r < rows; r++) {
          for (int x = 0; x < width; x++) {
            int i = r * width + x;
            for (int c = 0; c < 3; c++) {
              rgb[3 * x + c] = (byte) Images.toByte(f.get(c * plane + i));
            }
          }
          row(rgb);
        }
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }

    /** Ends the image: every row must have been given. */
    void finish() throws IOException {
      if (y != height) {
        throw new ImageException("the PNG got " + y + " of its " + height + " rows");
      }
      z.close(); // the last IDAT; the underlying stream stays open
      chunk(out, "IEND", new byte[0], 0);
      out.flush();
    }

    @Override
    public void close() {
      deflater.end();
    }
  }

  /** The row filtered five ways; returns the one (filter byte first) with the least sum of |signed byte|. */
  private static byte[] bestFilter(byte[] cur, byte[] prev, byte[][] out) {
    int n = cur.length;
    long[] cost = new long[5];
    for (int f = 0; f < 5; f++) {
      out[f][0] = (byte) f;
    }
    for (int i = 0; i < n; i++) {
      int x = cur[i] & 0xff;
      int a = i >= 3 ? cur[i - 3] & 0xff : 0;
      int b = prev[i] & 0xff;
      int c = i >= 3 ? prev[i - 3] & 0xff : 0;
      // Five locals, not an array per sample: 25 million short-lived arrays for a 4K image grew the Java heap by
      // hundreds of MB before the JIT removed them.
      byte none = (byte) x;
      byte sub = (byte) (x - a);
      byte up = (byte) (x - b);
      byte average = (byte) (x - ((a + b) >>> 1));
      byte paeth = (byte) (x - PngReader.paeth(a, b, c));
      out[0][i + 1] = none;
      out[1][i + 1] = sub;
      out[2][i + 1] = up;
      out[3][i + 1] = average;
      out[4][i + 1] = paeth;
      cost[0] += Math.abs(none);
      cost[1] += Math.abs(sub);
      cost[2] += Math.abs(up);
      cost[3] += Math.abs(average);
      cost[4] += Math.abs(paeth);
    }
    int best = 0;
    for (int f = 1; f < 5; f++) {
      if (cost[f] < cost[best]) {
        best = f;
      }
    }
    return out[best];
  }

  private static void writeInt(OutputStream o, int v) throws IOException {
    o.write(v >>> 24);
    o.write(v >>> 16);
    o.write(v >>> 8);
    o.write(v);
  }

  private static void chunk(OutputStream out, String type, byte[] data, int length) throws IOException {
    byte[] t = type.getBytes(StandardCharsets.US_ASCII);
    writeInt(out, length);
    out.write(t);
    out.write(data, 0, length);
    CRC32 crc = new CRC32();
    crc.update(t);
    crc.update(data, 0, length);
    writeInt(out, (int) crc.getValue());
  }

  /** Compressed bytes cut into IDAT chunks of {@link #CHUNK} bytes. */
  private static final class IdatStream extends OutputStream {
    private final OutputStream out;
    private final byte[] buf = new byte[CHUNK];
    private int n;

    IdatStream(OutputStream out) {
      this.out = out;
    }

    @Override
    public void write(int b) throws IOException {
      if (n == buf.length) {
        flushChunk();
      }
      buf[n++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      while (len > 0) {
        if (n == buf.length) {
          flushChunk();
        }
        int k = Math.min(len, buf.length - n);
        System.arraycopy(b, off, buf, n, k);
        n += k;
        off += k;
        len -= k;
      }
    }

    private void flushChunk() throws IOException {
      if (n > 0) {
        chunk(out, "IDAT", buf, n);
        n = 0;
      }
    }

    @Override
    public void close() throws IOException {
      flushChunk(); // the underlying stream stays open for IEND
    }
  }
}
