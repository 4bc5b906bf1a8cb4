package ai.taco.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.testing.Golden;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TorchCheckpointTest {
  @TempDir Path tmp;

  /** The official TACO checkpoint and the safetensors export of the same state dict hold identical tensors. */
  @Test
  void officialCheckpointEqualsSafetensorsExport() {
    Map<String, HostTensor> pth = StateDict.load(Golden.golden("taco-small/checkpoint.pth.tar"));
    Map<String, HostTensor> st = StateDict.load(Golden.golden("taco-small/weights.safetensors"));
    assertEquals(441, pth.size());
    assertEquals(st.keySet(), pth.keySet(), "module. prefix stripped, same keys");
    for (Map.Entry<String, HostTensor> e : st.entrySet()) {
      HostTensor a = e.getValue();
      HostTensor b = pth.get(e.getKey());
      assertEquals(a.dataType(), b.dataType(), e.getKey());
      assertArrayEquals(a.shape(), b.shape(), e.getKey());
      assertEquals(a.data(), b.data(), e.getKey());
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
