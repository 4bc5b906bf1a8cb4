package ai.taco.core.clip;

import ai.taco.core.error.ClipException;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** config.json parsing: the three HF shapes and transformers' defaults (configuration_clip.py). */
class ClipConfigTest {
  private static ClipConfig parse(String json) throws Exception {
    return ClipConfig.parse(new ObjectMapper().readTree(json));
  }

  @Test
  void fullClipConfigLikeOpenAiWithMissingFieldsDefaulted() throws Exception {
    // The shape of openai/clip-vit-base-patch32's config.json, trimmed: missing fields take HF defaults.
    ClipConfig c =
        parse(
            "{\"model_type\":\"clip\",\"projection_dim\":512,\"logit_scale_init_value\":2.6592,"
                + "\"text_config\":{\"hidden_size\":512,\"eos_token_id\":2,\"model_type\":\"clip_text_model\"},"
                + "\"vision_config\":{\"hidden_size\":768,\"patch_size\":32}}");
    ClipConfig.Text t = c.requireText();
    assertEquals(49408, t.vocabSize());
    assertEquals(2048, t.intermediateSize());
    assertEquals(12, t.numHiddenLayers());
    assertEquals(8, t.numAttentionHeads());
    assertEquals(77, t.maxPositionEmbeddings());
    assertEquals("quick_gelu", t.hiddenAct());
    assertEquals(1e-5, t.layerNormEps());
    assertEquals(512, t.projectionDim());
    assertEquals(2, t.eosTokenId());
    ClipConfig.Vision v = c.requireVision();
    assertEquals(3072, v.intermediateSize());
    assertEquals(12, v.numAttentionHeads());
    assertEquals(224, v.imageSize());
    assertEquals(50, v.numPositions());
    assertEquals(2.6592, c.logitScaleInit());
  }

  @Test
  void largeModelProjectionFromTopLevelWhenTowerHasNone() throws Exception {
    ClipConfig c =
        parse(
            "{\"model_type\":\"clip\",\"projection_dim\":768,\"text_config\":{\"hidden_size\":768,"
                + "\"num_attention_heads\":12},\"vision_config\":{\"hidden_size\":1024,\"num_attention_heads\":16,"
                + "\"num_hidden_layers\":24,\"intermediate_size\":4096,\"image_size\":336,\"patch_size\":14}}");
    assertEquals(768, c.requireText().projectionDim());
    assertEquals(768, c.requireVision().projectionDim());
    assertEquals(24 * 24 + 1, c.requireVision().numPositions());
    assertEquals(49407, c.requireText().eosTokenId(), "HF default eos when the config has none");
  }

  @Test
  void singleTowers() throws Exception {
    ClipConfig t = parse("{\"model_type\":\"clip_text_model\",\"hidden_size\":64,\"num_attention_heads\":4}");
    assertNull(t.vision());
    assertEquals(64, t.requireText().hiddenSize());
    assertThrows(ClipException.class, t::requireVision);
    ClipConfig v = parse("{\"model_type\":\"clip_vision_model\"}");
    assertNull(v.text());
    assertEquals(768, v.requireVision().hiddenSize());
    assertThrows(ClipException.class, v::requireText);
  }

  @Test
  void badConfigsAreRefusedClearly() {
    ClipException e = assertThrows(ClipException.class, () -> parse("{\"model_type\":\"bert\"}"));
    assertTrue(e.getMessage().contains("bert"), e.getMessage());
    assertThrows(ClipException.class, () -> parse("{\"model_type\":\"clip_text_model\",\"hidden_size\":65}"));
    assertThrows(ClipException.class, () -> parse("{\"model_type\":\"clip_text_model\",\"hidden_act\":\"swish\"}"));
    assertThrows(ClipException.class, () -> parse("{\"model_type\":\"clip_text_model\",\"hidden_size\":\"x\"}"));
    assertThrows(ClipException.class, () -> parse("{\"model_type\":\"clip_vision_model\",\"image_size\":225}"));
    assertThrows(ClipException.class, () -> parse("[1,2]"));
  }
}
