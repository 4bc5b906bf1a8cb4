package ai.taco.core.bitstream;

import ai.taco.core.error.BitstreamException;
import ai.taco.core.files.AtomicFiles;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The official TACO {@code .bin} file (its {@code test_epoch}/evaluation scripts): {@code write_uints(f, (H, W))} then
 * {@code write_body(f, shape, out_strings)}, i.e. big-endian uint32 {@code H, W, z_h, z_w, n} followed by {@code n}
 * times (uint32 length, bytes). TACO writes two strings, the y string then the z string. There is no magic, version
 * or checksum: the layout is specified in {@code docs/bitstream.md}.
 *
 * @param height original image height H
 * @param width original image width W
 * @param zHeight latent z height (the {@code shape} argument of the official decompress)
 * @param zWidth latent z width
 * @param strings the strings in file order (TACO: y, z)
 */
public record CompressAiFile(int height, int width, int zHeight, int zWidth, List<byte[]> strings)
    implements CodedImage {
  /** Bytes of the fixed header: H, W, z_h, z_w and the string count, uint32 each. */
  static final int HEADER_BYTES = 5 * 4;
  /** Upper bound on the string count accepted when parsing (TACO writes 2); guards against absurd headers. */
  static final int MAX_STRINGS = 1 << 16;

  public CompressAiFile {
    if (height <= 0 || width <= 0 || zHeight <= 0 || zWidth <= 0) {
      throw new IllegalArgumentException(
          "sizes must be positive: " + height + "x" + width + ", z " + zHeight + "x" + zWidth);
    }
    List<byte[]> copy = new ArrayList<>();
    for (byte[] s : strings) {
      copy.add(s.clone());
    }
    strings = List.copyOf(copy);
  }

  /** A TACO file: strings [y, z]. */
  public static CompressAiFile of(int height, int width, int zHeight, int zWidth, byte[] yString, byte[] zString) {
    return new CompressAiFile(height, width, zHeight, zWidth, List.of(yString, zString));
  }

  /** The strings (copies). */
  @Override
  public List<byte[]> strings() {
    List<byte[]> out = new ArrayList<>();
    for (byte[] s : strings) {
      out.add(s.clone());
    }
    return out;
  }

  /** TACO's y string (the first). */
  public byte[] yString() {
    requireTaco();
    return strings.get(0).clone();
  }

  /** TACO's z string (the second). */
  public byte[] zString() {
    requireTaco();
    return strings.get(1).clone();
  }

  private void requireTaco() {
    if (strings.size() != 2) {
      throw new BitstreamException(
          "a TACO .bin holds 2 strings (y, z), this one holds " + strings.size());
    }
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof CompressAiFile f)) {
      return false;
    }
    if (f.height != height || f.width != width || f.zHeight != zHeight || f.zWidth != zWidth
        || f.strings.size() != strings.size()) {
      return false;
    }
    for (int i = 0; i < strings.size(); i++) {
      if (!java.util.Arrays.equals(strings.get(i), f.strings.get(i))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public int hashCode() {
    int h = java.util.Objects.hash(height, width, zHeight, zWidth);
    for (byte[] s : strings) {
      h = 31 * h + java.util.Arrays.hashCode(s);
    }
    return h;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("CompressAiFile[" + height + "x" + width + ", z " + zHeight + "x" + zWidth);
    for (byte[] s : strings) {
      sb.append(", ").append(s.length).append(" B");
    }
    return sb.append(']').toString();
  }

  /** Total size of the file in bytes. */
  public long byteCount() {
    long n = HEADER_BYTES;
    for (byte[] s : strings) {
      n += 4L + s.length;
    }
    return n;
  }

  public byte[] toBytes() {
    ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(byteCount())).order(ByteOrder.BIG_ENDIAN);
    b.putInt(height).putInt(width).putInt(zHeight).putInt(zWidth).putInt(strings.size());
    for (byte[] s : strings) {
      b.putInt(s.length).put(s);
    }
    return b.array();
  }

  /**
   * Parses a whole file.
   *
   * @throws BitstreamException if it is truncated, has trailing bytes, zero or over-large sizes, or an absurd string
   *     count
   */
  public static CompressAiFile parse(byte[] bytes) {
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN);
    if (bytes.length < HEADER_BYTES) {
      throw new BitstreamException(
          "not a TACO .bin file: " + bytes.length + " bytes, shorter than the " + HEADER_BYTES + "-byte header");
    }
    long h = Integer.toUnsignedLong(b.getInt());
    long w = Integer.toUnsignedLong(b.getInt());
    long zh = Integer.toUnsignedLong(b.getInt());
    long zw = Integer.toUnsignedLong(b.getInt());
    long n = Integer.toUnsignedLong(b.getInt());
    if (h == 0 || w == 0 || zh == 0 || zw == 0 || h > Integer.MAX_VALUE || w > Integer.MAX_VALUE
        || zh > Integer.MAX_VALUE || zw > Integer.MAX_VALUE) {
      throw new BitstreamException(
          "not a valid .bin header: image " + h + "x" + w + ", latent " + zh + "x" + zw);
    }
    if (n > MAX_STRINGS || n * 4 > b.remaining()) {
      throw new BitstreamException(".bin header claims " + n + " strings but only " + b.remaining()
          + " bytes follow (truncated or not a .bin file)");
    }
    List<byte[]> strings = new ArrayList<>();
    for (long i = 0; i < n; i++) {
      if (b.remaining() < 4) {
        throw new BitstreamException(".bin truncated: length of string " + i + " missing");
      }
      long len = Integer.toUnsignedLong(b.getInt());
      if (len > b.remaining()) {
        throw new BitstreamException(
            ".bin truncated: string " + i + " needs " + len + " bytes, " + b.remaining() + " left");
      }
      byte[] s = new byte[(int) len];
      b.get(s);
      strings.add(s);
    }
    if (b.hasRemaining()) {
      throw new BitstreamException(".bin has " + b.remaining() + " unexpected trailing bytes");
    }
    return new CompressAiFile((int) h, (int) w, (int) zh, (int) zw, strings);
  }

  /** Reads and parses a file; errors name the file. */
  public static CompressAiFile read(Path file) {
    return BitstreamFiles.readFile(file, CompressAiFile::parse);
  }

  /** Writes the file atomically; refuses to replace an existing file unless {@code overwrite}. */
  public void write(Path file, boolean overwrite) {
    byte[] bytes = toBytes();
    AtomicFiles.write(file, overwrite, o -> o.write(bytes), BitstreamException::new);
  }
}
