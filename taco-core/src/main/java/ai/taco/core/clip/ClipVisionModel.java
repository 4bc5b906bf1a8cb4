package ai.taco.core.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.taco.core.error.ClipException;
import ai.taco.core.nn.Scoped;
import ai.taco.core.tensor.HostTensor;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * CLIP's vision tower with transformers semantics ({@code CLIPVisionModel} / {@code CLIPVisionModelWithProjection}):
 * a patch convolution without bias, the class token prepended, learned position embeddings, {@code pre_layrnorm}
 * (HF's spelling), the pre-LN transformer without mask, {@code post_layernorm} on the class token, and the optional
 * {@code visual_projection}.
 *
 * <p>Frozen weights; gradients flow to the input pixels (the joint loss differentiates through it w.r.t. x_hat).
 */
public final class ClipVisionModel implements AutoCloseable {

  private static final String P = ClipWeights.Tower.VISION.prefix;

  private final ClipConfig.Vision config;
  private final NDManager manager;
  private final NDArray classEmbedding;
  private final NDArray patchWeight;
  private final NDArray positionEmbedding;
  private final NDArray preLnW;
  private final NDArray preLnB;
  private final ClipEncoder encoder;
  private final NDArray postLnW;
  private final NDArray postLnB;
  private final NDArray projection;

  /**
   * Outputs of one forward pass, attached to the input's manager.
   *
   * @param lastHiddenState {@code [B, 1 + patches, width]}
   * @param poolerOutput {@code [B, width]}: post_layernorm of the class token
   * @param imageEmbeds {@code [B, projection_dim]} (not normalised), or {@code null} without a projection
   */
  public record Output(NDArray lastHiddenState, NDArray poolerOutput, NDArray imageEmbeds) {}

  private ClipVisionModel(ClipConfig.Vision config, NDManager manager, Map<String, NDArray> w) {
    this.config = config;
    this.manager = manager;
    this.classEmbedding = w.get(P + "embeddings.class_embedding");
    this.patchWeight = w.get(P + "embeddings.patch_embedding.weight");
    this.positionEmbedding = w.get(P + "embeddings.position_embedding.weight");
    this.preLnW = w.get(P + "pre_layrnorm.weight");
    this.preLnB = w.get(P + "pre_layrnorm.bias");
    this.encoder =
        new ClipEncoder(
            w,
            P,
            config.numHiddenLayers(),
            config.numAttentionHeads(),
            config.hiddenSize(),
            config.layerNormEps(),
            config.hiddenAct());
    this.postLnW = w.get(P + "post_layernorm.weight");
    this.postLnB = w.get(P + "post_layernorm.bias");
    this.projection = w.get(ClipWeights.Tower.VISION.projectionKey);
  }

  /** Loads from a HuggingFace model directory ({@code config.json} + {@code model.safetensors} or {@code .bin}). */
  public static ClipVisionModel load(Path dir) {
    ClipFiles.requireFiles(dir, false);
    return load(dir.resolve(ClipFiles.CONFIG), ClipFiles.weightsFile(dir));
  }

  /** Loads from an explicit config.json and weights file. */
  public static ClipVisionModel load(Path configJson, Path weightsFile) {
    ClipConfig.Vision cfg = ClipConfig.read(configJson).requireVision();
    return fromStateDict(cfg, ClipWeights.read(weightsFile), weightsFile.toString());
  }

  /** Builds the model from a state dict in HF key naming; strict about shapes. */
  public static ClipVisionModel fromStateDict(
      ClipConfig.Vision cfg, Map<String, HostTensor> stateDict, String source) {
    return ClipWeights.build(
        stateDict, ClipWeights.Tower.VISION, expectedShapes(cfg), source, (m, w) -> new ClipVisionModel(cfg, m, w));
  }

  static Map<String, long[]> expectedShapes(ClipConfig.Vision c) {
    Map<String, long[]> m = new LinkedHashMap<>();
    int d = c.hiddenSize();
    m.put(P + "embeddings.class_embedding", new long[] {d});
    m.put(P + "embeddings.patch_embedding.weight", new long[] {d, c.numChannels(), c.patchSize(), c.patchSize()});
    m.put(P + "embeddings.position_embedding.weight", new long[] {c.numPositions(), d});
    m.put(P + "pre_layrnorm.weight", new long[] {d});
    m.put(P + "pre_layrnorm.bias", new long[] {d});
    ClipEncoder.expectedShapes(P, c.numHiddenLayers(), d, c.intermediateSize())
        .forEach((k, s) -> m.put(k, s.getShape()));
    m.put(P + "post_layernorm.weight", new long[] {d});
    m.put(P + "post_layernorm.bias", new long[] {d});
    m.put(ClipWeights.Tower.VISION.projectionKey, new long[] {c.projectionDim(), d});
    return m;
  }

  public ClipConfig.Vision config() {
    return config;
  }

  public boolean hasProjection() {
    return projection != null;
  }

  /**
   * Runs the model.
   *
   * @param pixelValues float32 {@code [B, channels, image_size, image_size]}, already preprocessed
   */
  public Output forward(NDArray pixelValues) {
    Shape s = pixelValues.getShape();
    int size = config.imageSize();
    if (s.dimension() != 4 || s.get(1) != config.numChannels() || s.get(2) != size || s.get(3) != size) {
      throw new ClipException(
          "pixel values must be [batch, " + config.numChannels() + ", " + size + ", " + size + "], got " + s);
    }
    long b = s.get(0);
    int d = config.hiddenSize();
    NDManager owner = pixelValues.getManager();
    Output out;
    try (NDScope scope = new NDScope()) {
      int p = config.patchSize();
      NDArray patches =
          Conv2d.conv2d(pixelValues, patchWeight, null, new Shape(p, p)).singletonOrThrow(); // [B, D, g, g]
      patches = patches.reshape(b, d, (long) config.gridSize() * config.gridSize()).transpose(0, 2, 1);
      NDArray cls = classEmbedding.reshape(1, 1, d).broadcast(new Shape(b, 1, d));
      NDArray x = NDArrays.concat(new NDList(cls, patches), 1).add(positionEmbedding);
      x = ClipEncoder.layerNorm(x, preLnW, preLnB, (float) config.layerNormEps());
      NDArray last = encoder.forward(x, null);
      NDArray pooled =
          ClipEncoder.layerNorm(last.get(":, 0, :"), postLnW, postLnB, (float) config.layerNormEps());
      NDArray embeds = projection == null ? null : ClipEncoder.linear(pooled, projection, null);
      out = new Output(last, pooled, embeds);
      Scoped.keep(scope, owner, last, pooled, embeds);
    }
    Scoped.registerOuter(out.lastHiddenState(), out.poolerOutput(), out.imageEmbeds());
    return out;
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
