package ai.taco.core;

import ai.taco.core.bitstream.TacoFile;
import ai.taco.core.error.BitstreamException;
import ai.taco.core.tensor.HostTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/** The checks a {@link TacoFile} records: the weights' fingerprint and the CRC32C of the coded symbols. */
final class Checksums {
  private Checksums() {}

  /** CRC32C of the symbols as little-endian int32 values, in the given order. */
  static int symbols(int[] symbols) {
    ByteBuffer b = ByteBuffer.allocate(4 * symbols.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asIntBuffer().put(symbols);
    CRC32C crc = new CRC32C();
    crc.update(b.array());
    return (int) crc.getValue();
  }

  /**
   * Throws unless the decoded symbols have the checksum the encoder recorded.
   *
   * @param what "z (hyperprior)" or "y (latent)"
   */
  static void requireSymbols(String what, int expected, int[] decoded) {
    requireSymbolsCrc(what, expected, symbols(decoded));
  }

  /** As {@link #requireSymbols} given the decoded symbols' CRC32C (accumulated while decoding). */
  static void requireSymbolsCrc(String what, int expected, int actual) {
    if (actual != expected) {
      throw new BitstreamException(String.format(
          "decoded %s symbols differ from the encoded ones (checksum %08x, expected %08x): corrupt file, or a decoder"
              + " whose floating-point results differ from the encoder's (other machine, library version or thread"
              + " count)",
          what, actual, expected));
    }
  }

  /**
   * Fingerprint of a set of weights: the first {@link TacoFile#FINGERPRINT_BYTES} bytes of SHA-256 over the canonical
   * serialization of every tensor except entropy-coding tables that are derived from the others (keys ending in
   * {@code ._offset}, {@code ._quantized_cdf}, {@code ._cdf_length}, {@code .scale_table}), so a checkpoint with and
   * without {@code update()}d buffers has the same fingerprint. Canonical form, keys in ascending UTF-8 order, each as:
   * uint32 key length, key bytes, uint8 dtype-name length, dtype name (DJL DataType, e.g. {@code float32}), uint32
   * rank, uint64 per dimension, raw little-endian data (big-endian lengths).
   */
  static byte[] fingerprint(Map<String, HostTensor> weights) {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
    List<String> keys = new ArrayList<>();
    for (String k : weights.keySet()) {
      if (!isDerivedTable(k)) {
        keys.add(k);
      }
    }
    keys.sort((a, c) -> Arrays.compareUnsigned(
        a.getBytes(StandardCharsets.UTF_8), c.getBytes(StandardCharsets.UTF_8)));
    for (String k : keys) {
      HostTensor t = weights.get(k);
      byte[] key = k.getBytes(StandardCharsets.UTF_8);
      byte[] dtype = t.dataType().toString().getBytes(StandardCharsets.UTF_8);
      long[] shape = t.shape();
      ByteBuffer head = ByteBuffer.allocate(4 + key.length + 1 + dtype.length + 4 + 8 * shape.length);
      head.putInt(key.length).put(key).put((byte) dtype.length).put(dtype).putInt(shape.length);
      for (long d : shape) {
        head.putLong(d);
      }
      sha.update(head.array());
      sha.update(t.data());
    }
    return Arrays.copyOf(sha.digest(), TacoFile.FINGERPRINT_BYTES);
  }

  private static boolean isDerivedTable(String key) {
    return key.endsWith("._offset")
        || key.endsWith("._quantized_cdf")
        || key.endsWith("._cdf_length")
        || key.endsWith(".scale_table")
        || key.equals("_offset")
        || key.equals("_quantized_cdf")
        || key.equals("_cdf_length")
        || key.equals("scale_table");
  }
}
