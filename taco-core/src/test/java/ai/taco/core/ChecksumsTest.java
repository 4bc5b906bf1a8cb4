package ai.taco.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.error.BitstreamException;
import ai.taco.core.tensor.HostTensor;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The weights fingerprint and the symbol checksums a TacoFile records. */
class ChecksumsTest {
  @Test
  void symbolCheckNamesTheLatent() {
    int[] symbols = {0, -3, 5, 1 << 20};
    Checksums.requireSymbols("y (latent)", Checksums.symbols(symbols), symbols.clone());
    int[] off = symbols.clone();
    off[2] = 6;
    BitstreamException s = assertThrows(BitstreamException.class,
        () -> Checksums.requireSymbols("y (latent)", Checksums.symbols(symbols), off));
    assertTrue(s.getMessage().contains("y (latent) symbols differ"), s.getMessage());
  }

  /** Symbol checksum = CRC32C of little-endian int32s: known answer for {1} (CRC32C of 01 00 00 00). */
  @Test
  void symbolChecksumKnownAnswer() {
    java.util.zip.CRC32C c = new java.util.zip.CRC32C();
    c.update(new byte[] {1, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff});
    assertEquals((int) c.getValue(), Checksums.symbols(new int[] {1, -1}));
  }

  /** The fingerprint is SHA-256 over the documented canonical form, recomputed here independently. */
  @Test
  void fingerprintFollowsCanonicalForm() throws Exception {
    Map<String, HostTensor> w = new LinkedHashMap<>();
    w.put("b.weight", HostTensor.ofFloats(new float[] {1f, 2f}, 2));
    w.put("a", HostTensor.ofInts(new int[] {7}, 1, 1));
    w.put("entropy_bottleneck._quantized_cdf", HostTensor.ofInts(new int[] {0, 65536}, 1, 2));
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    sha.update(entry("a", "int32", new long[] {1, 1}, new byte[] {7, 0, 0, 0}));
    ByteBuffer fl = ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(1f).putFloat(2f);
    sha.update(entry("b.weight", "float32", new long[] {2}, fl.array()));
    byte[] expected = Arrays.copyOf(sha.digest(), 16);
    assertArrayEquals(expected, Checksums.fingerprint(w));
    // Derived tables do not count; any weight change does.
    w.remove("entropy_bottleneck._quantized_cdf");
    assertArrayEquals(expected, Checksums.fingerprint(w));
    w.put("b.weight", HostTensor.ofFloats(new float[] {1f, Math.nextUp(2f)}, 2));
    assertNotEquals(Arrays.toString(expected), Arrays.toString(Checksums.fingerprint(w)));
  }

  private static byte[] entry(String key, String dtype, long[] shape, byte[] data) {
    byte[] k = key.getBytes(StandardCharsets.UTF_8);
    byte[] d = dtype.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(4 + k.length + 1 + d.length + 4 + 8 * shape.length + data.length);
    b.putInt(k.length).put(k).put((byte) d.length).put(d).putInt(shape.length);
    for (long s : shape) {
      b.putLong(s);
    }
    return b.put(data).array();
  }
}
