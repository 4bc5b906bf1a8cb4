package ai.taco.core.clip;

import ai.taco.core.error.ClipException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Sizes of a CLIP model, read from a HuggingFace {@code config.json}.
 *
 * <p>Three shapes of file are accepted, as transformers writes them: a full CLIP config ({@code model_type} "clip",
 * with {@code text_config} and {@code vision_config}), or a single tower ({@code clip_text_model} or {@code
 * clip_vision_model}). A tower that the file does not describe is {@code null}. Missing fields take the defaults of
 * transformers' {@code CLIPTextConfig} / {@code CLIPVisionConfig} / {@code CLIPConfig} (the ViT-B/32 sizes).
 *
 * @param text the text tower, or {@code null} for a vision-only config
 * @param vision the vision tower, or {@code null} for a text-only config
 * @param logitScaleInit {@code logit_scale_init_value} (the log of the contrastive temperature's inverse)
 */
public record ClipConfig(Text text, Vision vision, double logitScaleInit) {

  /** transformers {@code CLIPConfig.logit_scale_init_value} default, the value of openai/clip-vit-base-patch32. */
  public static final double DEFAULT_LOGIT_SCALE_INIT = 2.6592;

  /** transformers {@code CLIPTextConfig/CLIPVisionConfig/CLIPConfig.projection_dim} default. */
  static final int DEFAULT_PROJECTION_DIM = 512;

  /**
   * The text tower (transformers {@code CLIPTextConfig}).
   *
   * @param eosTokenId the config's {@code eos_token_id}; the legacy value 2 makes pooling take the first maximum id
   */
  public record Text(
      int vocabSize,
      int hiddenSize,
      int intermediateSize,
      int numHiddenLayers,
      int numAttentionHeads,
      int maxPositionEmbeddings,
      String hiddenAct,
      double layerNormEps,
      int projectionDim,
      int eosTokenId) {

    /** CLIPTextConfig defaults (transformers configuration_clip.py), i.e. openai/clip-vit-base-patch32's text tower. */
    public static Text defaults() {
      return new Text(49408, 512, 2048, 12, 8, 77, "quick_gelu", 1e-5, DEFAULT_PROJECTION_DIM, 49407);
    }

    public Text {
      requirePositive("vocab_size", vocabSize);
      requirePositive("hidden_size", hiddenSize);
      requirePositive("intermediate_size", intermediateSize);
      requirePositive("num_hidden_layers", numHiddenLayers);
      requirePositive("num_attention_heads", numAttentionHeads);
      requirePositive("max_position_embeddings", maxPositionEmbeddings);
      requirePositive("projection_dim", projectionDim);
      if (hiddenSize % numAttentionHeads != 0) {
        throw new ClipException(
            "config: hidden_size " + hiddenSize + " is not divisible by num_attention_heads " + numAttentionHeads);
      }
      HiddenAct.of(hiddenAct);
    }

    /** Width of one attention head. */
    public int headDim() {
      return hiddenSize / numAttentionHeads;
    }
  }

  /** The vision tower (transformers {@code CLIPVisionConfig}). */
  public record Vision(
      int hiddenSize,
      int intermediateSize,
      int numHiddenLayers,
      int numAttentionHeads,
      int numChannels,
      int imageSize,
      int patchSize,
      String hiddenAct,
      double layerNormEps,
      int projectionDim) {

    /** CLIPVisionConfig defaults (transformers configuration_clip.py), i.e. ViT-B/32. */
    public static Vision defaults() {
      return new Vision(768, 3072, 12, 12, 3, 224, 32, "quick_gelu", 1e-5, DEFAULT_PROJECTION_DIM);
    }

    public Vision {
      requirePositive("hidden_size", hiddenSize);
      requirePositive("intermediate_size", intermediateSize);
      requirePositive("num_hidden_layers", numHiddenLayers);
      requirePositive("num_attention_heads", numAttentionHeads);
      requirePositive("num_channels", numChannels);
      requirePositive("image_size", imageSize);
      requirePositive("patch_size", patchSize);
      requirePositive("projection_dim", projectionDim);
      if (hiddenSize % numAttentionHeads != 0) {
        throw new ClipException(
            "config: hidden_size " + hiddenSize + " is not divisible by num_attention_heads " + numAttentionHeads);
      }
      if (imageSize % patchSize != 0) {
        throw new ClipException("config: image_size " + imageSize + " is not a multiple of patch_size " + patchSize);
      }
      HiddenAct.of(hiddenAct);
    }

    public int headDim() {
      return hiddenSize / numAttentionHeads;
    }

    /** Patches per image side. */
    public int gridSize() {
      return imageSize / patchSize;
    }

    /** Tokens per image: one per patch plus the class token. */
    public int numPositions() {
      return gridSize() * gridSize() + 1;
    }
  }

  /** Reads {@code config.json}. */
  public static ClipConfig read(Path configJson) {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(Files.readAllBytes(configJson));
    } catch (NoSuchFileException e) {
      throw new ClipException("CLIP config not found: " + configJson);
    } catch (IOException e) {
      throw new ClipException("cannot read CLIP config " + configJson + ": " + e.getMessage(), e);
    }
    try {
      return parse(root);
    } catch (ClipException e) {
      throw new ClipException(configJson + ": " + e.getMessage(), e);
    }
  }

  /** Parses the JSON tree of a {@code config.json}. */
  public static ClipConfig parse(JsonNode root) {
    if (root == null || !root.isObject()) {
      throw new ClipException("config is not a JSON object");
    }
    String type = root.path("model_type").asText("");
    switch (type) {
      case "clip": {
        // CLIPConfig: towers under text_config / vision_config. HF's CLIPTextModelWithProjection loaded from such a
        // directory sizes its projection from text_config.projection_dim; the top level is the fallback.
        int topProjection = intField(root, "projection_dim", DEFAULT_PROJECTION_DIM);
        Text t = parseText(root.path("text_config"), topProjection);
        Vision v = parseVision(root.path("vision_config"), topProjection);
        double scale = doubleField(root, "logit_scale_init_value", DEFAULT_LOGIT_SCALE_INIT);
        return new ClipConfig(t, v, scale);
      }
      case "clip_text_model":
        return new ClipConfig(parseText(root, DEFAULT_PROJECTION_DIM), null, DEFAULT_LOGIT_SCALE_INIT);
      case "clip_vision_model":
        return new ClipConfig(null, parseVision(root, DEFAULT_PROJECTION_DIM), DEFAULT_LOGIT_SCALE_INIT);
      default:
        throw new ClipException(
            "model_type is \""
                + type
                + "\"; expected \"clip\", \"clip_text_model\" or \"clip_vision_model\" (a HuggingFace CLIP config.json)");
    }
  }

  /** The text tower, or a clear error if the config has none. */
  public Text requireText() {
    if (text == null) {
      throw new ClipException("this CLIP config describes no text model (model_type clip_vision_model)");
    }
    return text;
  }

  /** The vision tower, or a clear error if the config has none. */
  public Vision requireVision() {
    if (vision == null) {
      throw new ClipException("this CLIP config describes no vision model (model_type clip_text_model)");
    }
    return vision;
  }

  private static Text parseText(JsonNode n, int defaultProjection) {
    Text d = Text.defaults();
    if (!n.isObject()) {
      n = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
    }
    return new Text(
        intField(n, "vocab_size", d.vocabSize()),
        intField(n, "hidden_size", d.hiddenSize()),
        intField(n, "intermediate_size", d.intermediateSize()),
        intField(n, "num_hidden_layers", d.numHiddenLayers()),
        intField(n, "num_attention_heads", d.numAttentionHeads()),
        intField(n, "max_position_embeddings", d.maxPositionEmbeddings()),
        textField(n, "hidden_act", d.hiddenAct()),
        doubleField(n, "layer_norm_eps", d.layerNormEps()),
        intField(n, "projection_dim", defaultProjection),
        intField(n, "eos_token_id", d.eosTokenId()));
  }

  private static Vision parseVision(JsonNode n, int defaultProjection) {
    Vision d = Vision.defaults();
    if (!n.isObject()) {
      n = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
    }
    return new Vision(
        intField(n, "hidden_size", d.hiddenSize()),
        intField(n, "intermediate_size", d.intermediateSize()),
        intField(n, "num_hidden_layers", d.numHiddenLayers()),
        intField(n, "num_attention_heads", d.numAttentionHeads()),
        intField(n, "num_channels", d.numChannels()),
        intField(n, "image_size", d.imageSize()),
        intField(n, "patch_size", d.patchSize()),
        textField(n, "hidden_act", d.hiddenAct()),
        doubleField(n, "layer_norm_eps", d.layerNormEps()),
        intField(n, "projection_dim", defaultProjection));
  }

  private static int intField(JsonNode n, String name, int def) {
    JsonNode v = n.get(name);
    if (v == null || v.isNull()) {
      return def;
    }
    if (!v.canConvertToInt() || !v.isIntegralNumber()) {
      throw new ClipException("config field " + name + " must be an integer, got " + v);
    }
    return v.intValue();
  }

  private static double doubleField(JsonNode n, String name, double def) {
    JsonNode v = n.get(name);
    if (v == null || v.isNull()) {
      return def;
    }
    if (!v.isNumber()) {
      throw new ClipException("config field " + name + " must be a number, got " + v);
    }
    return v.doubleValue();
  }

  private static String textField(JsonNode n, String name, String def) {
    JsonNode v = n.get(name);
    if (v == null || v.isNull()) {
      return def;
    }
    if (!v.isTextual()) {
      throw new ClipException("config field " + name + " must be a string, got " + v);
    }
    return v.asText();
  }

  private static void requirePositive(String name, int v) {
    if (v <= 0) {
      throw new ClipException("config: " + name + " must be positive, got " + v);
    }
  }
}
