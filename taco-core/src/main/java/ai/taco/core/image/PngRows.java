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
    if (width <= 0 || height <= 0 || 3L * width + 1 > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("bad PNG size " + width + "x" + height);
    }
    out.write(SIGNATURE);
    ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
    writeInt(ihdr, width);
    writeInt(ihdr, height);
    ihdr.write(new byte[] {8, 2, 0, 0, 0}); // bit depth 8, colour type 2 (RGB), deflate, adaptive filters, no interlace
    chunk(out, "IHDR", ihdr.toByteArray(), ihdr.size());
    int stride = 3 * width;
    byte[] prev = new byte[stride];
    byte[] cur = new byte[stride];
    byte[][] filtered = new byte[5][stride + 1];
    Deflater deflater = new Deflater(Deflater.DEFAULT_COMPRESSION);
    try (DeflaterOutputStream z = new DeflaterOutputStream(new IdatStream(out), deflater, CHUNK)) {
      for (int y = 0; y < height; y++) {
        rows.row(y, cur);
        z.write(bestFilter(cur, prev, filtered));
        byte[] t = prev;
        prev = cur;
        cur = t;
      }
    } finally {
      deflater.end();
    }
    chunk(out, "IEND", new byte[0], 0);
    out.flush();
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
      byte[] v = {(byte) x, (byte) (x - a), (byte) (x - b), (byte) (x - ((a + b) >>> 1)), (byte) (x - PngReader.paeth(a, b, c))};
      for (int f = 0; f < 5; f++) {
        out[f][i + 1] = v[f];
        cost[f] += Math.abs(v[f]);
      }
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
