package ai.taco.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.taco.core.error.WeightsException;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.core.weights.StateDict;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Official checkpoint loading (both formats), key names/shapes of the full preset, strict errors, state-dict export. */
class TacoWeightsTest {

  @Test
  void fullPresetHasTheOfficialKeysShapesAndOrder() {
    JsonNode manifest = Golden.json("taco-full-manifest.json");
    String prefix = manifest.get("key_prefix").asText();
    Map<String, long[]> official = new LinkedHashMap<>();
    for (JsonNode e : manifest.get("entries")) {
      long[] shape = new long[e.get("shape").size()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = e.get("shape").get(i).asLong();
      }
      official.put(e.get("key").asText().substring(prefix.length()), shape);
    }
    // The state dict a freshly created full model exports (training-checkpoint form, like the manifest).
    try (NDManager m = NDManager.newBaseManager()) {
      Map<String, HostTensor> ours = TacoModel.create(TacoConfig.FULL, m, 7).stateDict();
      assertTrue(new ArrayList<>(official.keySet()).equals(new ArrayList<>(ours.keySet())), "keys or their order differ");
      List<String> wrong = new ArrayList<>();
      official.forEach((k, s) -> {
        if (!Arrays.equals(s, ours.get(k).shape())) {
          wrong.add(k + " " + Arrays.toString(ours.get(k).shape()) + " != " + Arrays.toString(s));
        }
      });
      assertTrue(wrong.isEmpty(), String.join("\n", wrong));
      long params = 0;
      for (Map.Entry<String, NDArray> e : TacoModel.create(TacoConfig.FULL, m, 7).parameters().entrySet()) {
        params += e.getValue().size();
      }
      assertEquals(manifest.get("total_parameter_count").asLong(), params);
    }
  }

  @Test
  void checkpointAndSafetensorsLoadTheSameWeights() {
    try (NDManager m = NDManager.newBaseManager()) {
      TacoModel a = TacoModel.load(StateDict.load(Golden.golden("taco-small/checkpoint.pth.tar")), TacoConfig.SMALL, m);
      TacoModel b = TacoModel.load(StateDict.load(Golden.tacoSmallWeights()), TacoConfig.SMALL, m);
      Map<String, NDArray> pa = a.parameters();
      Map<String, NDArray> pb = b.parameters();
      assertEquals(pb.keySet(), pa.keySet());
      assertEquals(429, pa.size());
      for (String k : pa.keySet()) {
        assertArrayEquals(pb.get(k).toFloatArray(), pa.get(k).toFloatArray(), k);
      }
      // The model's state dict has the official export's keys in its order, and its parameters bit for bit (compared
      // through the official export's per-tensor sha256, reference/taco-small/weights-digest.json).
      Map<String, HostTensor> sd = a.stateDict();
      Map<String, String> official = new LinkedHashMap<>();
      for (JsonNode t : Golden.json("taco-small/weights-digest.json").get("tensors")) {
        official.put(t.get("key").asText(), t.get("sha256").asText());
      }
      assertEquals(new ArrayList<>(official.keySet()), new ArrayList<>(sd.keySet()), "state dict keys/order");
      for (String k : pa.keySet()) {
        assertEquals(official.get(k), sha256(sd.get(k)), k);
      }
    }
  }

  @Test
  void mismatchedWeightsAreRefusedWithEveryProblemListed() {
    Map<String, HostTensor> w = new LinkedHashMap<>(StateDict.load(Golden.tacoSmallWeights()));
    w.remove("g_s.synthesis_transform.14.bias");
    w.put("g_a.analysis_transform.0.weight", HostTensor.ofFloats(new float[3 * 3 * 5 * 5], 3, 3, 5, 5));
    w.put("not.a.key", HostTensor.ofFloats(new float[1], 1));
    try (NDManager m = NDManager.newBaseManager()) {
      WeightsException e = assertThrows(WeightsException.class, () -> TacoModel.load(w, TacoConfig.SMALL, m));
      assertTrue(e.getMessage().contains("g_s.synthesis_transform.14.bias"), e.getMessage());
      assertTrue(e.getMessage().contains("g_a.analysis_transform.0.weight"), e.getMessage());
      assertTrue(e.getMessage().contains("not.a.key"), e.getMessage());
      // The small checkpoint is not a full model: refused, not half-loaded.
      Map<String, HostTensor> small = StateDict.load(Golden.tacoSmallWeights());
      assertThrows(WeightsException.class, () -> TacoModel.load(small, TacoConfig.FULL, m));
    }
  }

  private static String sha256(HostTensor t) {
    try {
      java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
      md.update(t.data());
      return java.util.HexFormat.of().formatHex(md.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
