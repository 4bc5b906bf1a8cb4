package ai.taco.core.weights;

import ai.taco.core.error.WeightsException;
import ai.taco.core.tensor.HostTensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import ai.taco.core.testing.Golden;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
  @TempDir Path tmp;

  /** Parses a safetensors file independently (header JSON by hand) to check the reader's bytes and shapes. */
  @Test
  void readsGoldenFileLikeTheFormatSays() throws IOException {
    Path f = Golden.golden("cmmd/cmmd.safetensors");
    SafeTensors.Contents c = SafeTensors.read(f);
    byte[] all = Files.readAllBytes(f);
    long headerLen = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    String header = new String(all, 8, (int) headerLen, StandardCharsets.UTF_8);
    assertTrue(header.contains("\"x\""));
    HostTensor x = c.get("x");
    assertEquals(DataType.FLOAT32, x.dataType());
    assertArrayEquals(new long[] {100, 32}, x.shape());
    // x rows are L2-normalised by construction (golden README): an independent property of the real values.
    float[] v = x.toFloatArray();
    for (int r = 0; r < 100; r++) {
      double s = 0;
      for (int k = 0; k < 32; k++) {
        s += v[r * 32 + k] * v[r * 32 + k];
      }
      assertEquals(1.0, s, 1e-5);
    }
    assertEquals(DataType.FLOAT64, c.get("mmd_xy_float64").dataType());
    assertEquals(1.45413416, c.get("mmd_xy_float64").toDoubleArray()[0], 1e-7);
  }

  @Test
  void roundTripsEveryDtypeAndMetadata() throws IOException {
    Map<String, HostTensor> in = new LinkedHashMap<>();
    in.put("f", HostTensor.ofFloats(new float[] {1.5f, -2f, 3.25f, 0f, 7f, 8f}, 2, 3));
    in.put("i", HostTensor.ofInts(new int[] {1, -2, 3}, 3));
    in.put("l", HostTensor.ofLongs(new long[] {Long.MIN_VALUE, 5}, 2));
    in.put("b", HostTensor.ofBytes(new byte[] {0, (byte) 255, 7}, 3));
    in.put("empty", HostTensor.ofInts(new int[0], 0));
    in.put("scalar", HostTensor.ofFloats(new float[] {42f}));
    Path p = tmp.resolve("t.safetensors");
    SafeTensors.write(p, in, Map.of("k", "v"));
    SafeTensors.Contents out = SafeTensors.read(p);
    assertEquals(in.keySet(), out.tensors().keySet());
    assertEquals("v", out.metadata().get("k"));
    assertArrayEquals(new float[] {1.5f, -2f, 3.25f, 0f, 7f, 8f}, out.get("f").toFloatArray());
    assertArrayEquals(new long[] {2, 3}, out.get("f").shape());
    assertArrayEquals(new int[] {1, -2, 3}, out.get("i").toIntArray());
    assertArrayEquals(new long[] {Long.MIN_VALUE, 5}, out.get("l").toLongArray());
    assertArrayEquals(new long[] {0, 255, 7}, out.get("b").toLongArray());
    assertEquals(0, out.get("empty").numel());
    assertArrayEquals(new long[0], out.get("scalar").shape());
    // Header is padded to 8 bytes so data stays aligned.
    long headerLen = ByteBuffer.wrap(Files.readAllBytes(p), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    assertEquals(0, headerLen % 8);
  }

  @Test
  void widensHalfPrecisionExactly() {
    ByteBuffer bf = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
    bf.putShort((short) 0x3FC0).putShort((short) 0xC040).flip(); // bf16 1.5, -3.0
    assertArrayEquals(
        new float[] {1.5f, -3f}, new HostTensor(DataType.BFLOAT16, new long[] {2}, bf).toFloatArray());
    ByteBuffer h = ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN);
    h.putShort((short) 0x3E00).flip(); // fp16 1.5
    assertArrayEquals(new float[] {1.5f}, new HostTensor(DataType.FLOAT16, new long[] {1}, h).toFloatArray());
  }

  @Test
  void refusesCorruptFilesWithTypedErrors() throws IOException {
    Path good = tmp.resolve("g.safetensors");
    SafeTensors.write(good, Map.of("a", HostTensor.ofFloats(new float[64], 8, 8)), Map.of());
    byte[] bytes = Files.readAllBytes(good);
    Path truncated = tmp.resolve("trunc.safetensors");
    Files.write(truncated, Arrays.copyOf(bytes, bytes.length - 10));
    WeightsException e = assertThrows(WeightsException.class, () -> SafeTensors.read(truncated));
    assertTrue(e.getMessage().contains("'a'"), e.getMessage());
    Path garbage = tmp.resolve("garbage.safetensors");
    Files.writeString(garbage, "hello, I am not a tensor file at all");
    assertThrows(WeightsException.class, () -> SafeTensors.read(garbage));
    Path tiny = tmp.resolve("tiny.safetensors");
    Files.write(tiny, new byte[] {1, 2});
    assertThrows(WeightsException.class, () -> SafeTensors.read(tiny));
    assertThrows(WeightsException.class, () -> SafeTensors.read(tmp.resolve("absent.safetensors")));
  }
}
