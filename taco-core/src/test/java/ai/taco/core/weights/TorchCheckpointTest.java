package ai.taco.core.weights;

import ai.taco.core.error.WeightsException;
import ai.taco.core.tensor.HostTensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import ai.taco.core.testing.Golden;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TorchCheckpointTest {
  @TempDir Path tmp;

  /**
   * The official TACO checkpoint read by the .pth reader holds exactly the tensors of the official safetensors export of
   * the same state dict: the same keys ({@code module.} stripped), dtypes, shapes and bytes, compared through the
   * export's per-tensor digest (reference/taco-small/weights-digest.json).
   */
  @Test
  void officialCheckpointEqualsSafetensorsExport() throws Exception {
    Map<String, HostTensor> pth = StateDict.load(Golden.golden("taco-small/checkpoint.pth.tar"));
    JsonNode expected = Golden.json("taco-small/weights-digest.json").get("tensors");
    assertEquals(441, pth.size());
    assertEquals(expected.size(), pth.size());
    for (JsonNode t : expected) {
      String key = t.get("key").asText();
      HostTensor a = pth.get(key);
      assertNotNull(a, "missing " + key);
      assertEquals(t.get("dtype").asText(), SAFETENSORS_DTYPES.get(a.dataType()), key);
      long[] shape = new long[t.get("shape").size()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = t.get("shape").get(i).asLong();
      }
      assertArrayEquals(shape, a.shape(), key);
      assertEquals(t.get("sha256").asText(), sha256(a.data()), key);
    }
  }

  private static final Map<DataType, String> SAFETENSORS_DTYPES =
      Map.of(DataType.FLOAT32, "F32", DataType.INT32, "I32", DataType.INT64, "I64", DataType.FLOAT64, "F64");

  private static String sha256(ByteBuffer data) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    md.update(data.duplicate().order(ByteOrder.LITTLE_ENDIAN));
    return HexFormat.of().formatHex(md.digest());
  }

  /** The library's converter (what {@code taco export} does) keeps every tensor of the official checkpoint. */
  @Test
  void safetensorsConversionKeepsEveryTensor() {
    Map<String, HostTensor> pth = StateDict.load(Golden.golden("taco-small/checkpoint.pth.tar"));
    Map<String, HostTensor> st = StateDict.load(Golden.tacoSmallWeights());
    assertEquals(pth.keySet(), st.keySet());
    for (Map.Entry<String, HostTensor> e : st.entrySet()) {
      HostTensor b = pth.get(e.getKey());
      assertEquals(b.dataType(), e.getValue().dataType(), e.getKey());
      assertArrayEquals(b.shape(), e.getValue().shape(), e.getKey());
      assertEquals(b.data(), e.getValue().data(), e.getKey());
    }
  }

  @Test
  void exposesTheWholeCheckpointTree() {
    Object root = TorchCheckpoint.load(Golden.golden("taco-small/checkpoint.pth.tar"));
    Map<?, ?> m = (Map<?, ?>) root;
    assertEquals(0, ((Number) m.get("epoch")).intValue());
    assertEquals(27.5, ((Number) m.get("best_psnr")).doubleValue(), 0.0);
    Map<?, ?> aux = (Map<?, ?>) m.get("aux_optimizer");
    assertTrue(aux.containsKey("state") && aux.containsKey("param_groups"));
  }

  @Test
  void checkListsEveryProblemAtOnce() {
    Map<String, HostTensor> w =
        Map.of(
            "a", HostTensor.ofFloats(new float[6], 2, 3),
            "b", HostTensor.ofFloats(new float[4], 4),
            "extra", HostTensor.ofFloats(new float[1], 1));
    Map<String, long[]> expected = new java.util.LinkedHashMap<>();
    expected.put("a", new long[] {2, 3});
    expected.put("b", new long[] {2, 2});
    expected.put("c", new long[] {1});
    WeightsException e =
        assertThrows(WeightsException.class, () -> StateDict.check("test net", expected, w, k -> false));
    String msg = e.getMessage();
    assertTrue(msg.contains("missing (1): c"), msg);
    assertTrue(msg.contains("unexpected (1): extra"), msg);
    assertTrue(msg.contains("wrong shape (1): b [4] (expected [2, 2])"), msg);
    assertFalse(msg.contains(" a "), msg);
    String lenient =
        assertThrows(WeightsException.class, () -> StateDict.check("test net", expected, w, k -> true))
            .getMessage();
    assertFalse(lenient.contains("extra"), lenient);
  }

  @Test
  void refusesNonCheckpoints() throws IOException {
    Path text = tmp.resolve("x.pth");
    Files.writeString(text, "not a checkpoint");
    WeightsException e = assertThrows(WeightsException.class, () -> StateDict.load(text));
    assertTrue(e.getMessage().contains("neither a safetensors file nor a torch.save"), e.getMessage());
    byte[] real = Files.readAllBytes(Golden.golden("taco-small/checkpoint.pth.tar"));
    Path cut = tmp.resolve("cut.pth.tar");
    Files.write(cut, Arrays.copyOf(real, real.length / 2));
    assertThrows(WeightsException.class, () -> StateDict.load(cut));
  }
}
