package ai.taco.core.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.taco.core.error.ClipException;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.StateDict;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Picks one tower's weights out of a HuggingFace CLIP state dict, in HF key naming.
 *
 * <p>Keys are accepted with the tower prefix ({@code text_model.} / {@code vision_model.}: CLIPModel,
 * CLIP*ModelWithProjection, and every transformers 4 class) or without it (CLIPTextModel / CLIPVisionModel saved by
 * transformers 5). The other tower's keys, {@code logit_scale} and the {@code position_ids} buffer of old 4.x
 * checkpoints are ignored; anything else under the tower must match exactly.
 */
final class ClipWeights {

  enum Tower {
    TEXT("text_model.", List.of("embeddings.", "encoder.", "final_layer_norm."), "text_projection.weight", "text"),
    VISION(
        "vision_model.",
        List.of("embeddings.", "encoder.", "pre_layrnorm.", "post_layernorm."),
        "visual_projection.weight",
        "vision");

    final String prefix;
    final List<String> bareRoots;
    final String projectionKey;
    final String label;

    Tower(String prefix, List<String> bareRoots, String projectionKey, String label) {
      this.prefix = prefix;
      this.bareRoots = bareRoots;
      this.projectionKey = projectionKey;
      this.label = label;
    }
  }

  private ClipWeights() {}

  /** Reads a weights file (safetensors or torch.save zip, by content). */
  static Map<String, HostTensor> read(Path file) {
    return StateDict.load(file);
  }

  /**
   * Selects, checks and uploads one tower's weights.
   *
   * @param expected canonical key (with the tower prefix) to shape, projection included
   * @return canonical key to FLOAT32 array on {@code manager}; the projection key is absent if the file has none
   */
  /**
   * Selects {@code tower}'s weights into a new manager and builds the model with them; the manager is the model's
   * (it closes it), or is closed here if building fails.
   */
  static <T> T build(
      Map<String, HostTensor> all,
      Tower tower,
      Map<String, long[]> expected,
      String source,
      java.util.function.BiFunction<NDManager, Map<String, NDArray>, T> model) {
    NDManager m = NDManager.newBaseManager();
    try {
      return model.apply(m, select(all, tower, expected, source, m));
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
  }

  static Map<String, NDArray> select(
      Map<String, HostTensor> all, Tower tower, Map<String, long[]> expected, String source, NDManager manager) {
    boolean prefixed = all.keySet().stream().anyMatch(k -> k.startsWith(tower.prefix));
    Map<String, HostTensor> mine = new LinkedHashMap<>();
    for (Map.Entry<String, HostTensor> e : all.entrySet()) {
      String canonical = canonical(e.getKey(), tower, prefixed);
      if (canonical != null && !canonical.endsWith("position_ids")) {
        mine.put(canonical, e.getValue());
      }
    }
    if (mine.isEmpty() || mine.keySet().equals(java.util.Set.of(tower.projectionKey))) {
      throw new ClipException(
          source
              + " holds no CLIP "
              + tower.label
              + " model weights (expected HuggingFace keys such as "
              + tower.prefix
              + "embeddings.position_embedding.weight)");
    }
    Map<String, long[]> want = new LinkedHashMap<>(expected);
    if (!mine.containsKey(tower.projectionKey)) {
      want.remove(tower.projectionKey); // a plain CLIPTextModel / CLIPVisionModel checkpoint has no projection
    }
    StateDict.check("the CLIP " + tower.label + " model of config.json (" + source + ")", want, mine, k -> false);
    Map<String, NDArray> out = new LinkedHashMap<>();
    for (Map.Entry<String, HostTensor> e : mine.entrySet()) {
      NDArray a = e.getValue().toNDArray(manager);
      if (a.getDataType() != DataType.FLOAT32) {
        NDArray f = a.toType(DataType.FLOAT32, false);
        a.close();
        a = f;
      }
      out.put(e.getKey(), a);
    }
    return out;
  }

  private static String canonical(String key, Tower tower, boolean prefixed) {
    if (key.equals(tower.projectionKey)) {
      return key;
    }
    if (prefixed) {
      return key.startsWith(tower.prefix) ? key : null;
    }
    for (String root : tower.bareRoots) {
      if (key.startsWith(root)) {
        return tower.prefix + key;
      }
    }
    return null;
  }
}
