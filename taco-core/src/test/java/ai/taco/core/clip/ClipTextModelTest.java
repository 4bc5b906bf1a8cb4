package ai.taco.core.clip;

import ai.taco.core.error.ClipException;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.taco.core.error.WeightsException;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Diff;
import ai.taco.core.testing.Golden;
import ai.taco.core.weights.SafeTensors;
import ai.taco.core.weights.StateDict;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Parity of the text tower with transformers' CLIPTextModelWithProjection on the small random golden model. */
class ClipTextModelTest {
  /** Parity target; float32 vs float64 reference differ by 6.9e-6 (clip-values.json). */
  static final double TOL = 1e-5;

  static Map<String, HostTensor> out;
  static Map<String, HostTensor> weights;
  static ClipConfig.Text config;
  static ClipTextModel model;

  @BeforeAll
  static void load() {
    out = Golden.tensors("clip/text-small-out.safetensors");
    weights = StateDict.load(Golden.golden("clip/text-small.safetensors"));
    config = ClipConfig.read(Golden.golden("clip/text-small-config.json")).requireText();
    model = ClipTextModel.fromStateDict(config, weights, "text-small");
  }

  @AfterAll
  static void close() {
    model.close();
  }

  @Test
  void configIsReadFromSingleTowerFile() {
    assertEquals(64, config.hiddenSize());
    assertEquals(2, config.numHiddenLayers());
    assertEquals(4, config.numAttentionHeads());
    assertEquals(256, config.intermediateSize());
    assertEquals(32, config.projectionDim());
    assertEquals(2, config.eosTokenId());
    assertEquals(77, config.maxPositionEmbeddings());
    assertTrue(model.hasProjection());
  }

  @Test
  void matchesTransformersOnAll41Captions() {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray ids = out.get("input_ids").toNDArray(m);
      NDArray mask = out.get("attention_mask").toNDArray(m);
      ClipTextModel.Output o = model.forward(ids, mask);
      Diff.assertClose("text last_hidden_state", out.get("last_hidden_state"), o.lastHiddenState(), TOL);
      Diff.assertClose("text pooler_output", out.get("pooler_output"), o.poolerOutput(), TOL);
      Diff.assertClose("text text_embeds", out.get("text_embeds"), o.textEmbeds(), TOL);
      // The float64 reference: how far float32 rounding leaves us from the exact value.
      Diff.assertClose(
          "text last_hidden_state vs float64", out.get("last_hidden_state_float64"), o.lastHiddenState(), 2 * TOL);
      // Without the key padding mask the pad rows are off by up to 4.4: the test can tell the difference.
      double noMask =
          Diff.maxAbs(out.get("last_hidden_state_no_attention_mask").toFloatArray(), o.lastHiddenState().toFloatArray());
      assertTrue(noMask > 0.1, "pad rows must differ from the no-padding-mask output, got " + noMask);
    }
  }

  /** Forward passes leave nothing on the weights' manager and only inputs + outputs on the caller's. */
  @Test
  void forwardFreesItsIntermediates() {
    int held = model.heldArrays();
    try (NDManager m = NDManager.newBaseManager()) {
      for (int i = 0; i < 3; i++) {
        try (NDManager call = m.newSubManager()) {
          NDArray ids = out.get("input_ids").toNDArray(call);
          NDArray mask = out.get("attention_mask").toNDArray(call);
          model.forward(ids, mask);
          assertEquals(5, call.getManagedArrays().size(), "2 inputs + 3 outputs");
        }
      }
      assertEquals(0, m.getManagedArrays().size());
    }
    assertEquals(held, model.heldArrays());
  }

  @Test
  void poolsAtFirstMaximumIdAsGolden() {
    long[] ids = out.get("input_ids").toLongArray();
    long[] expected = out.get("eos_index").toLongArray();
    for (int r = 0; r < expected.length; r++) {
      assertEquals(expected[r], model.eosIndex(ids, r * 38, 38), "row " + r);
    }
  }

  @Test
  void tokenizerPlusModelEqualsGoldenEndToEnd() {
    JsonCaptions captions = JsonCaptions.golden();
    try (ClipTokenizer tok = ClipTokenizer.load(Golden.golden("clip/tokenizer.json"));
        NDManager m = NDManager.newBaseManager()) {
      ClipTextModel.Output o = model.forward(m, tok.encode(captions.texts()));
      Diff.assertClose("text last_hidden_state (from text)", out.get("last_hidden_state"), o.lastHiddenState(), TOL);
    }
  }

  @Test
  void acceptsKeysWithoutPrefixAndIgnoresBuffersAndOtherTower() {
    Map<String, HostTensor> bare = new LinkedHashMap<>();
    weights.forEach((k, v) -> bare.put(k.startsWith("text_model.") ? k.substring(11) : k, v));
    bare.put("embeddings.position_ids", HostTensor.ofLongs(new long[77], 1, 77));
    bare.put("vision_model.embeddings.class_embedding", HostTensor.ofFloats(new float[8], 8));
    bare.put("logit_scale", HostTensor.ofFloats(new float[] {2.6592f}));
    Map<String, HostTensor> prefixed = new LinkedHashMap<>(weights);
    prefixed.put("text_model.embeddings.position_ids", HostTensor.ofLongs(new long[77], 1, 77));
    try (ClipTextModel a = ClipTextModel.fromStateDict(config, bare, "bare");
        ClipTextModel b = ClipTextModel.fromStateDict(config, prefixed, "prefixed");
        NDManager m = NDManager.newBaseManager()) {
      NDArray ids = out.get("input_ids").toNDArray(m).get("0:3");
      NDArray mask = out.get("attention_mask").toNDArray(m).get("0:3");
      float[] ref = model.forward(ids, mask).lastHiddenState().toFloatArray();
      assertEquals(0.0, Diff.maxAbs(ref, a.forward(ids, mask).lastHiddenState().toFloatArray()));
      assertEquals(0.0, Diff.maxAbs(ref, b.forward(ids, mask).lastHiddenState().toFloatArray()));
    }
  }

  @Test
  void withoutProjectionThereAreNoTextEmbeds() {
    Map<String, HostTensor> w = new LinkedHashMap<>(weights);
    w.remove("text_projection.weight");
    try (ClipTextModel a = ClipTextModel.fromStateDict(config, w, "no projection");
        NDManager m = NDManager.newBaseManager()) {
      assertFalse(a.hasProjection());
      ClipTextModel.Output o =
          a.forward(out.get("input_ids").toNDArray(m).get("0:2"), out.get("attention_mask").toNDArray(m).get("0:2"));
      assertNull(o.textEmbeds());
    }
  }

  @Test
  void mismatchedWeightsAreListedInOneError() {
    Map<String, HostTensor> w = new LinkedHashMap<>(weights);
    w.remove("text_model.encoder.layers.1.mlp.fc2.bias");
    w.put("text_model.final_layer_norm.weight", HostTensor.ofFloats(new float[65], 65));
    w.put("text_model.encoder.layers.2.mlp.fc1.bias", HostTensor.ofFloats(new float[256], 256));
    WeightsException e =
        assertThrows(WeightsException.class, () -> ClipTextModel.fromStateDict(config, w, "broken"));
    String msg = e.getMessage();
    assertTrue(msg.contains("text_model.encoder.layers.1.mlp.fc2.bias"), msg);
    assertTrue(msg.contains("text_model.final_layer_norm.weight [65]"), msg);
    assertTrue(msg.contains("text_model.encoder.layers.2.mlp.fc1.bias"), msg);

    Map<String, HostTensor> visionOnly = Map.of("vision_model.pre_layrnorm.weight", HostTensor.ofFloats(new float[4], 4));
    ClipException none = assertThrows(ClipException.class, () -> ClipTextModel.fromStateDict(config, visionOnly, "v"));
    assertTrue(none.getMessage().contains("no CLIP text model weights"), none.getMessage());
  }

  @Test
  void loadsFromModelDirectoryAndNamesMissingFiles(@TempDir Path dir) throws IOException {
    ClipException e = assertThrows(ClipException.class, () -> ClipTextModel.load(dir));
    assertTrue(e.getMessage().contains("config.json"), e.getMessage());
    assertTrue(e.getMessage().contains("model.safetensors (or pytorch_model.bin)"), e.getMessage());
    assertTrue(e.getMessage().contains("docs/weights.md"), e.getMessage());

    Files.copy(Golden.golden("clip/text-small-config.json"), dir.resolve("config.json"));
    e = assertThrows(ClipException.class, () -> ClipTextModel.load(dir));
    assertTrue(e.getMessage().contains("missing model.safetensors (or pytorch_model.bin). "), e.getMessage());
    ClipException withTok = assertThrows(ClipException.class, () -> ClipFiles.requireFiles(dir, true));
    assertTrue(withTok.getMessage().contains("tokenizer.json"), withTok.getMessage());

    // Without model.safetensors, pytorch_model.bin is read as a torch.save zip (here a TACO checkpoint, which holds no
    // CLIP weights: the error proves the file was opened and its keys inspected).
    Files.copy(Golden.golden("taco-small/checkpoint.pth.tar"), dir.resolve("pytorch_model.bin"));
    e = assertThrows(ClipException.class, () -> ClipTextModel.load(dir));
    assertTrue(e.getMessage().contains("pytorch_model.bin holds no CLIP text model weights"), e.getMessage());
    Files.delete(dir.resolve("pytorch_model.bin"));

    // A full-CLIP style file: both towers in one safetensors, text keys prefixed.
    Map<String, HostTensor> both = new LinkedHashMap<>(weights);
    both.putAll(StateDict.load(Golden.golden("clip/vision-small.safetensors")));
    SafeTensors.write(dir.resolve("model.safetensors"), both, Map.of());
    try (ClipTextModel a = ClipTextModel.load(dir);
        NDManager m = NDManager.newBaseManager()) {
      ClipTextModel.Output o =
          a.forward(out.get("input_ids").toNDArray(m), out.get("attention_mask").toNDArray(m));
      Diff.assertClose("text_embeds (loaded from dir)", out.get("text_embeds"), o.textEmbeds(), TOL);
    }
  }
}
