package ai.taco.core.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import ai.taco.core.error.ClipException;
import ai.taco.core.nn.Constants;
import ai.taco.core.nn.Scoped;
import ai.taco.core.tensor.HostTensor;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * CLIP's text tower with transformers semantics ({@code CLIPTextModel} / {@code CLIPTextModelWithProjection}):
 * token + learned position embeddings (positions {@code 0..L-1}), a causal pre-LN transformer whose attention also
 * masks padded KEYS, the final LayerNorm, pooling at the EOS position, and the optional {@code text_projection}.
 *
 * <p>Pad rows (after EOS) are still computed: they see BOS..EOS but not themselves. TACO feeds all rows of {@code
 * last_hidden_state} to its codec, so this matters. Frozen: the weights never require gradients. Thread-safe for
 * inference (weights are read only). Close it to free the weights.
 */
public final class ClipTextModel implements AutoCloseable {

  /** torch.finfo(float32).min: what transformers adds at blocked attention positions. */
  private static final float MASK_MIN = -Float.MAX_VALUE;

  /** The legacy eos_token_id of openai/clip-* configs; transformers then pools at argmax(input_ids). */
  private static final int LEGACY_EOS_TOKEN_ID = 2;

  private static final String P = ClipWeights.Tower.TEXT.prefix;

  private final ClipConfig.Text config;
  private final NDManager manager;
  private final NDArray tokenEmbedding;
  private final NDArray positionEmbedding;
  private final ClipEncoder encoder;
  private final NDArray finalLnW;
  private final NDArray finalLnB;
  private final NDArray projection;

  /**
   * Outputs of one forward pass, attached to the input ids' manager.
   *
   * @param lastHiddenState {@code [B, L, width]} after the final LayerNorm
   * @param poolerOutput {@code [B, width]}: the row at the EOS position
   * @param textEmbeds {@code [B, projection_dim]} (not normalised), or {@code null} without a projection
   */
  public record Output(NDArray lastHiddenState, NDArray poolerOutput, NDArray textEmbeds) {}

  private ClipTextModel(ClipConfig.Text config, NDManager manager, Map<String, NDArray> w) {
    this.config = config;
    this.manager = manager;
    this.tokenEmbedding = w.get(P + "embeddings.token_embedding.weight");
    this.positionEmbedding = w.get(P + "embeddings.position_embedding.weight");
    this.encoder =
        new ClipEncoder(
            w,
            P,
            config.numHiddenLayers(),
            config.numAttentionHeads(),
            config.hiddenSize(),
            config.layerNormEps(),
            config.hiddenAct());
    this.finalLnW = w.get(P + "final_layer_norm.weight");
    this.finalLnB = w.get(P + "final_layer_norm.bias");
    this.projection = w.get(ClipWeights.Tower.TEXT.projectionKey);
  }

  /**
   * Loads from a HuggingFace model directory: {@code config.json} plus {@code model.safetensors} (or {@code
   * pytorch_model.bin}). A full CLIP checkpoint works too: its vision weights are ignored.
   */
  public static ClipTextModel load(Path dir) {
    ClipFiles.requireFiles(dir, false);
    return load(dir.resolve(ClipFiles.CONFIG), ClipFiles.weightsFile(dir));
  }

  /** Loads from an explicit config.json and weights file (safetensors or torch.save zip). */
  public static ClipTextModel load(Path configJson, Path weightsFile) {
    ClipConfig.Text cfg = ClipConfig.read(configJson).requireText();
    return fromStateDict(cfg, ClipWeights.read(weightsFile), weightsFile.toString());
  }

  /** Builds the model from a state dict in HF key naming (see {@link ClipWeights}); strict about shapes. */
  public static ClipTextModel fromStateDict(ClipConfig.Text cfg, Map<String, HostTensor> stateDict, String source) {
    return ClipWeights.build(
        stateDict, ClipWeights.Tower.TEXT, expectedShapes(cfg), source, (m, w) -> new ClipTextModel(cfg, m, w));
  }

  /** Every weight key (canonical, with {@code text_model.}) and its shape, the projection included. */
  static Map<String, long[]> expectedShapes(ClipConfig.Text c) {
    Map<String, long[]> m = new LinkedHashMap<>();
    int d = c.hiddenSize();
    m.put(P + "embeddings.token_embedding.weight", new long[] {c.vocabSize(), d});
    m.put(P + "embeddings.position_embedding.weight", new long[] {c.maxPositionEmbeddings(), d});
    ClipEncoder.expectedShapes(P, c.numHiddenLayers(), d, c.intermediateSize())
        .forEach((k, s) -> m.put(k, s.getShape()));
    m.put(P + "final_layer_norm.weight", new long[] {d});
    m.put(P + "final_layer_norm.bias", new long[] {d});
    m.put(ClipWeights.Tower.TEXT.projectionKey, new long[] {c.projectionDim(), d});
    return m;
  }

  public ClipConfig.Text config() {
    return config;
  }

  /** Width of {@code last_hidden_state} (512 for ViT-B/32). */
  /** A manager for one call's arrays: a sub-manager of the weights' manager, on its device; the caller closes it. */
  public NDManager newSubManager() {
    return manager.newSubManager();
  }

  public int width() {
    return config.hiddenSize();
  }

  /** Whether the checkpoint had {@code text_projection} (so {@link Output#textEmbeds()} is available). */
  public boolean hasProjection() {
    return projection != null;
  }

  /** Runs the model on tokenizer output. */
  public Output forward(NDManager manager, ClipTokenizer.Tokens tokens) {
    try (NDManager tmp = manager.newSubManager()) {
      Output o = forward(tokens.inputIds(tmp), tokens.attentionMask(tmp));
      for (NDArray a : new NDArray[] {o.lastHiddenState(), o.poolerOutput(), o.textEmbeds()}) {
        if (a != null) {
          a.attach(manager);
        }
      }
      return o;
    }
  }

  /**
   * Runs the model.
   *
   * @param inputIds integer {@code [B, L]}, L at most max_position_embeddings
   * @param attentionMask {@code [B, L]}, nonzero for real tokens; {@code null} means no padding mask (causal only)
   */
  public Output forward(NDArray inputIds, NDArray attentionMask) {
    Shape s = inputIds.getShape();
    if (s.dimension() != 2 || s.get(1) < 1 || s.get(1) > config.maxPositionEmbeddings()) {
      throw new ClipException(
          "input_ids must be [batch, length] with 1 <= length <= " + config.maxPositionEmbeddings() + ", got " + s);
    }
    if (attentionMask != null && !attentionMask.getShape().equals(s)) {
      throw new ClipException("attention_mask " + attentionMask.getShape() + " does not match input_ids " + s);
    }
    int b = (int) s.get(0);
    int len = (int) s.get(1);
    NDManager owner = inputIds.getManager();
    Output out;
    try (NDScope scope = new NDScope()) {
      NDArray idx = inputIds.toType(DataType.INT64, false);
      long[] ids = idx.toLongArray();
      for (long id : ids) {
        if (id < 0 || id >= config.vocabSize()) {
          throw new ClipException("token id " + id + " is outside the vocabulary [0, " + config.vocabSize() + ")");
        }
      }
      NDArray x = Embedding.embedding(idx, tokenEmbedding, SparseFormat.DENSE).singletonOrThrow();
      x = x.add(positionEmbedding.get("0:" + len));
      NDArray mask = additiveMask(owner, b, len, attentionMask);
      NDArray hidden = encoder.forward(x, mask);
      NDArray last = ClipEncoder.layerNorm(hidden, finalLnW, finalLnB, (float) config.layerNormEps());
      NDArray pooled = poolAtEos(owner, last, ids, b, len);
      NDArray embeds = projection == null ? null : ClipEncoder.linear(pooled, projection, null);
      out = new Output(last, pooled, embeds);
      Scoped.keep(scope, owner, last, pooled, embeds);
    }
    Scoped.registerOuter(out.lastHiddenState(), out.poolerOutput(), out.textEmbeds());
    return out;
  }

  /** {@code [B,1,L,L]}: float32 min where key j > query i (causal) or key j is padding, else 0. */
  private static NDArray additiveMask(NDManager m, int b, int len, NDArray attentionMask) {
    boolean[] causal = new boolean[len * len];
    for (int i = 0; i < len; i++) {
      for (int j = i + 1; j < len; j++) {
        causal[i * len + j] = true;
      }
    }
    NDArray blocked = m.create(causal, new Shape(1, 1, len, len));
    if (attentionMask != null) {
      NDArray pad = attentionMask.eq(0).reshape(b, 1, 1, len);
      blocked = pad.logicalOr(blocked);
    }
    return blocked.toType(DataType.FLOAT32, false).mul(MASK_MIN);
  }

  /**
   * transformers' pooling: with the legacy {@code eos_token_id == 2} it takes {@code argmax(input_ids)} (the FIRST
   * maximum, i.e. the first 49407, the EOS, since pads are 49407 too); otherwise the first position holding {@code
   * eos_token_id} (position 0 if there is none, as argmax of an all-false row gives).
   */
  private NDArray poolAtEos(NDManager m, NDArray last, long[] ids, int b, int len) {
    float[] oneHot = new float[b * len];
    for (int r = 0; r < b; r++) {
      oneHot[r * len + eosIndex(ids, r * len, len)] = 1f;
    }
    // [B,1,L] x [B,L,D]: picks one row exactly (the other products are zeros).
    // libtorch-owned (Constants): matMul saves it for backward, and this runs inside a scope closed before backward.
    NDArray sel = Constants.of(m, oneHot, new Shape(b, 1, len));
    return sel.matMul(last).reshape(b, config.hiddenSize());
  }

  int eosIndex(long[] ids, int off, int len) {
    int best = 0;
    if (config.eosTokenId() == LEGACY_EOS_TOKEN_ID) {
      for (int j = 1; j < len; j++) {
        if (ids[off + j] > ids[off + best]) {
          best = j;
        }
      }
      return best;
    }
    for (int j = 0; j < len; j++) {
      if (ids[off + j] == config.eosTokenId()) {
        return j;
      }
    }
    return 0;
  }

  /** Arrays held by the model's own manager (its weights); tests check that forward passes leave none behind. */
  int heldArrays() {
    return manager.getManagedArrays().size();
  }

  @Override
  public void close() {
    manager.close();
  }
}
