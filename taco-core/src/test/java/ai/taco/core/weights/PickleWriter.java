package ai.taco.core.weights;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Builds pickles and torch.save files opcode by opcode (from the pickle and torch.serialization specifications), for
 * the fuzzer's seed files and for tests that craft hostile checkpoints. Not a general pickler.
 */
final class PickleWriter {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  PickleWriter op(int... bytes) {
    for (int b : bytes) {
      out.write(b);
    }
    return this;
  }

  PickleWriter proto(int v) {
    return op(0x80, v);
  }

  PickleWriter le32(long v) {
    return op((int) v & 0xff, (int) (v >> 8) & 0xff, (int) (v >> 16) & 0xff, (int) (v >> 24) & 0xff);
  }

  /** BINUNICODE. */
  PickleWriter str(String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    op('X').le32(b.length);
    out.writeBytes(b);
    return this;
  }

  /** GLOBAL. */
  PickleWriter global(String module, String name) {
    op('c');
    out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
    return this;
  }

  /** BININT1 (0..255), BININT (32-bit) or LONG1. */
  PickleWriter integer(long v) {
    if (v >= 0 && v < 256) {
      return op('K', (int) v);
    }
    if (v == (int) v) {
      return op('J').le32(v);
    }
    return bigInteger(BigInteger.valueOf(v));
  }

  /** LONG1 of an arbitrary integer (two's complement, little-endian). */
  PickleWriter bigInteger(BigInteger v) {
    byte[] be = v.toByteArray();
    op(0x8a, be.length);
    for (int i = be.length - 1; i >= 0; i--) {
      out.write(be[i]);
    }
    return this;
  }

  /** BINFLOAT. */
  PickleWriter real(double v) {
    op('G');
    out.writeBytes(ByteBuffer.allocate(8).putDouble(v).array());
    return this;
  }

  PickleWriter mark() {
    return op('(');
  }

  PickleWriter put(int i) {
    return i < 256 ? op('q', i) : op('r').le32(i);
  }

  PickleWriter get(int i) {
    return i < 256 ? op('h', i) : op('j').le32(i);
  }

  PickleWriter stop() {
    return op('.');
  }

  /** Tuple of longs (a tensor's size or stride). */
  PickleWriter longs(long[] v) {
    mark();
    for (long x : v) {
      integer(x);
    }
    return op('t');
  }

  /**
   * A {@code torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())} call with the
   * zip-format persistent id {@code ('storage', torch.<storageType>, key, 'cpu', numel)}.
   */
  PickleWriter tensor(String storageType, String key, long numel, long offset, long[] size, long[] stride) {
    global("torch._utils", "_rebuild_tensor_v2").mark();
    mark().str("storage").global("torch", storageType).str(key).str("cpu").integer(numel).op('t', 'Q');
    integer(offset).longs(size).longs(stride);
    return op(0x89).global("collections", "OrderedDict").op(')', 'R', 't', 'R');
  }

  byte[] bytes() {
    return out.toByteArray();
  }

  /** A zip-format torch.save file: {@code archive/data.pkl}, {@code archive/data/<key>}, {@code archive/version}. */
  static byte[] torchZip(byte[] dataPkl, Map<String, byte[]> storages) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      stored(zip, "archive/data.pkl", dataPkl);
      for (Map.Entry<String, byte[]> e : storages.entrySet()) {
        stored(zip, "archive/data/" + e.getKey(), e.getValue());
      }
      stored(zip, "archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
    ZipEntry e = new ZipEntry(name);
    // torch.save writes uncompressed entries.
    e.setMethod(ZipEntry.STORED);
    e.setSize(data.length);
    CRC32 crc = new CRC32();
    crc.update(data);
    e.setCrc(crc.getValue());
    zip.putNextEntry(e);
    zip.write(data);
    zip.closeEntry();
  }

  /** {@code torch.serialization.MAGIC_NUMBER}. */
  static final BigInteger LEGACY_MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);

  /**
   * A legacy torch.save file: magic, protocol 1001, sys info, {@code objectPickle} (whose persistent ids are legacy
   * {@code ('storage', type, key, 'cpu', numel, None)}), the key list, then each storage as int64 count + bytes.
   *
   * @param elementSizes bytes per element of each storage, by key
   */
  static byte[] legacy(byte[] objectPickle, Map<String, byte[]> storages, Map<String, Integer> elementSizes) {
    ByteArrayOutputStream f = new ByteArrayOutputStream();
    f.writeBytes(new PickleWriter().proto(2).bigInteger(LEGACY_MAGIC).stop().bytes());
    f.writeBytes(new PickleWriter().proto(2).integer(1001).stop().bytes());
    f.writeBytes(new PickleWriter().proto(2).op('}').mark().str("protocol_version").integer(1001)
        .str("little_endian").op(0x88).str("type_sizes").op('}').mark().str("short").integer(2).str("int")
        .integer(4).str("long").integer(4).op('u', 'u').stop().bytes());
    f.writeBytes(objectPickle);
    PickleWriter keys = new PickleWriter().proto(2).op(']').mark();
    storages.keySet().forEach(keys::str);
    f.writeBytes(keys.op('e').stop().bytes());
    for (Map.Entry<String, byte[]> e : storages.entrySet()) {
      ByteBuffer n = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      n.putLong(e.getValue().length / elementSizes.get(e.getKey()));
      f.writeBytes(n.array());
      f.writeBytes(e.getValue());
    }
    return f.toByteArray();
  }

  /** A legacy-format tensor: as {@link #tensor} with the six-item legacy persistent id. */
  PickleWriter legacyTensor(String storageType, String key, long numel, long offset, long[] size, long[] stride) {
    global("torch._utils", "_rebuild_tensor_v2").mark();
    mark().str("storage").global("torch", storageType).str(key).str("cpu").integer(numel).op('N', 't', 'Q');
    integer(offset).longs(size).longs(stride);
    return op(0x89).global("collections", "OrderedDict").op(')', 'R', 't', 'R');
  }
}
