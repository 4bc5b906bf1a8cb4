package ai.taco.core.bitstream;

import ai.taco.core.error.BitstreamException;
import ai.taco.core.files.AtomicFiles;
import ai.taco.core.bitstream.ScaleTable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;

/**
 * TACO-J's own compressed-image container (format version 2, byte layout in {@code docs/bitstream.md}; version 1
 * files are still read).
 *
 * <p>Besides the official {@code .bin} content (image size, latent size, z and y strings) it records what a decoder
 * needs to refuse a file it cannot decode correctly: the scale-table variant, a fingerprint of the weights, CRC32C
 * checksums of the latent symbols as encoded (a decoder whose floating-point path differs from the encoder's would
 * otherwise silently return garbage) and a CRC32 of the whole file. From version 2 the stored symbol checksums are
 * bound to the header's sizes ({@link #headerMask}), so an edit of H or W caught by nobody else (the file CRC32 can
 * be recomputed by whoever edits the file) makes the symbol check fail.
 *
 * @param scaleTable Gaussian CDF table variant used to code y
 * @param weightsFingerprint {@link #FINGERPRINT_BYTES} bytes of the weights' fingerprint (docs/bitstream.md)
 * @param height original image height (before padding)
 * @param width original image width
 * @param zHeight latent z height
 * @param zWidth latent z width
 * @param zSymbolsCrc CRC32C of the z symbols in coding order (little-endian int32)
 * @param ySymbolsCrc CRC32C of the y symbols in coding order (little-endian int32)
 * @param zString rANS string of z
 * @param yString rANS string of y
 */
public record TacoFile(
    ScaleTable scaleTable,
    byte[] weightsFingerprint,
    int height,
    int width,
    int zHeight,
    int zWidth,
    int zSymbolsCrc,
    int ySymbolsCrc,
    byte[] zString,
    byte[] yString)
    implements CodedImage {

  /** "TACO" in ASCII. */
  static final byte[] MAGIC = {'T', 'A', 'C', 'O'};
  /** Format version written. */
  public static final int VERSION = 2;
  /** The first version, read but no longer written: symbol checksums stored as they are. */
  static final int VERSION_1 = 1;
  /** Length of the weights fingerprint: the first 16 bytes of a SHA-256. */
  public static final int FINGERPRINT_BYTES = 16;
  /** Fixed part before the z string: magic, version, table, reserved, fingerprint, 6 uint32 fields, len(z). */
  static final int HEADER_BYTES = 4 + 1 + 1 + 2 + FINGERPRINT_BYTES + 6 * 4 + 4;
  /** Smallest file: header, empty strings, len(y) and the trailing CRC32. */
  static final int MIN_BYTES = HEADER_BYTES + 4 + 4;

  public TacoFile {
    Objects.requireNonNull(scaleTable, "scaleTable");
    if (weightsFingerprint.length != FINGERPRINT_BYTES) {
      throw new IllegalArgumentException("fingerprint must have " + FINGERPRINT_BYTES + " bytes");
    }
    if (height <= 0 || width <= 0 || zHeight <= 0 || zWidth <= 0) {
      throw new IllegalArgumentException(
          "sizes must be positive: " + height + "x" + width + ", z " + zHeight + "x" + zWidth);
    }
    weightsFingerprint = weightsFingerprint.clone();
    zString = zString.clone();
    yString = yString.clone();
  }

  @Override
  public byte[] weightsFingerprint() {
    return weightsFingerprint.clone();
  }

  @Override
  public byte[] zString() {
    return zString.clone();
  }

  @Override
  public byte[] yString() {
    return yString.clone();
  }

  /** Hex form of the fingerprint (32 characters). */
  public String fingerprintHex() {
    return HexFormat.of().formatHex(weightsFingerprint);
  }

  /** Size of the file in bytes. */
  public long byteCount() {
    return (long) MIN_BYTES + zString.length + yString.length;
  }

  public byte[] toBytes() {
    ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(byteCount())).order(ByteOrder.BIG_ENDIAN);
    b.put(MAGIC).put((byte) VERSION).put((byte) scaleTable.code()).putShort((short) 0);
    b.put(weightsFingerprint);
    int mask = headerMask(height, width, zHeight, zWidth);
    b.putInt(height).putInt(width).putInt(zHeight).putInt(zWidth);
    b.putInt(zSymbolsCrc ^ mask).putInt(ySymbolsCrc ^ mask);
    b.putInt(zString.length).put(zString);
    b.putInt(yString.length).put(yString);
    CRC32 crc = new CRC32();
    crc.update(b.array(), 0, b.position());
    b.putInt((int) crc.getValue());
    return b.array();
  }

  /** True if {@code bytes} starts with the container's magic. */
  public static boolean hasMagic(byte[] bytes) {
    return bytes.length >= MAGIC.length && Arrays.equals(Arrays.copyOf(bytes, MAGIC.length), MAGIC);
  }

  /**
   * Parses and verifies a whole file.
   *
   * @throws BitstreamException on wrong magic, unsupported version or scale table, truncation, trailing bytes, a CRC32
   *     mismatch (corruption) or inconsistent fields
   */
  public static TacoFile parse(byte[] bytes) {
    if (!hasMagic(bytes)) {
      throw new BitstreamException("not a TACO file (missing 'TACO' magic)");
    }
    if (bytes.length < MAGIC.length + 1) {
      throw new BitstreamException("TACO file truncated: " + bytes.length + " bytes");
    }
    int version = bytes[4] & 0xff;
    if (version != VERSION && version != VERSION_1) {
      throw new BitstreamException("unsupported TACO file format version " + version + " (this build reads versions "
          + VERSION_1 + " and " + VERSION + ")");
    }
    if (bytes.length < MIN_BYTES) {
      throw new BitstreamException(
          "TACO file truncated: " + bytes.length + " bytes, a valid file has at least " + MIN_BYTES);
    }
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN);
    // Lengths first, so truncation is reported as such rather than as a checksum error.
    int zLen = b.getInt(HEADER_BYTES - 4);
    long yLenPos = (long) HEADER_BYTES + Integer.toUnsignedLong(zLen);
    if (zLen < 0 || yLenPos + 4 + 4 > bytes.length) {
      throw new BitstreamException(
          "TACO file truncated or corrupt: z string of " + Integer.toUnsignedLong(zLen) + " bytes does not fit in "
              + bytes.length + " bytes");
    }
    int yLen = b.getInt((int) yLenPos);
    long end = yLenPos + 4 + Integer.toUnsignedLong(yLen) + 4;
    if (yLen < 0 || end > bytes.length) {
      throw new BitstreamException(
          "TACO file truncated or corrupt: y string of " + Integer.toUnsignedLong(yLen) + " bytes does not fit in "
              + bytes.length + " bytes");
    }
    if (end < bytes.length) {
      throw new BitstreamException("TACO file corrupt: " + (bytes.length - end) + " unexpected trailing bytes");
    }
    CRC32 crc = new CRC32();
    crc.update(bytes, 0, bytes.length - 4);
    int stored = b.getInt(bytes.length - 4);
    if ((int) crc.getValue() != stored) {
      throw new BitstreamException(String.format(
          "TACO file corrupt: CRC32 mismatch (stored %08x, computed %08x)", stored, (int) crc.getValue()));
    }
    b.position(5);
    int tableCode = b.get() & 0xff;
    ScaleTable table = ScaleTable.fromCode(tableCode);
    if (table == null) {
      throw new BitstreamException("TACO file uses unknown scale table code " + tableCode);
    }
    short reserved = b.getShort();
    if (reserved != 0) {
      throw new BitstreamException("TACO file has unknown flags " + reserved + " (written by a newer version?)");
    }
    byte[] fp = new byte[FINGERPRINT_BYTES];
    b.get(fp);
    int h = b.getInt();
    int w = b.getInt();
    int zh = b.getInt();
    int zw = b.getInt();
    if (h <= 0 || w <= 0 || zh <= 0 || zw <= 0) {
      throw new BitstreamException("TACO file has invalid sizes: image " + Integer.toUnsignedLong(h) + "x"
          + Integer.toUnsignedLong(w) + ", latent " + Integer.toUnsignedLong(zh) + "x" + Integer.toUnsignedLong(zw));
    }
    int mask = version == VERSION_1 ? 0 : headerMask(h, w, zh, zw);
    int zCrc = b.getInt() ^ mask;
    int yCrc = b.getInt() ^ mask;
    b.getInt();
    byte[] z = new byte[zLen];
    b.get(z);
    b.getInt();
    byte[] y = new byte[yLen];
    b.get(y);
    return new TacoFile(table, fp, h, w, zh, zw, zCrc, yCrc, z, y);
  }

  /** Reads and verifies a file; errors name the file. */
  public static TacoFile read(Path file) {
    return BitstreamFiles.readFile(file, TacoFile::parse);
  }

  /** Writes the file atomically; refuses to replace an existing file unless {@code overwrite}. */
  public void write(Path file, boolean overwrite) {
    byte[] bytes = toBytes();
    AtomicFiles.write(file, overwrite, o -> o.write(bytes), BitstreamException::new);
  }

  /**
   * Throws unless the file was encoded with weights of this fingerprint.
   *
   * @throws BitstreamException naming both fingerprints
   */
  public void requireFingerprint(byte[] expected) {
    if (!Arrays.equals(expected, weightsFingerprint)) {
      throw new BitstreamException("file was encoded with different weights (file fingerprint " + fingerprintHex()
          + ", loaded weights " + HexFormat.of().formatHex(expected) + ")");
    }
  }

  /**
   * What the stored symbol checksums are XORed with from version 2: CRC32C of H, W, z_h and z_w as the header stores
   * them (big-endian uint32). A changed size changes the checksums read back, so the decoder's symbol check fails
   * even if the file's CRC32 was recomputed after the edit.
   */
  static int headerMask(int height, int width, int zHeight, int zWidth) {
    ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.BIG_ENDIAN);
    b.putInt(height).putInt(width).putInt(zHeight).putInt(zWidth);
    CRC32C crc = new CRC32C();
    crc.update(b.array());
    return (int) crc.getValue();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TacoFile f && Arrays.equals(toBytes(), f.toBytes());
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(toBytes());
  }

  @Override
  public String toString() {
    return "TacoFile[v" + VERSION + ", " + scaleTable.id() + ", " + height + "x" + width + ", z " + zHeight + "x"
        + zWidth + ", z " + zString.length + " B, y " + yString.length + " B, weights " + fingerprintHex() + "]";
  }
}
