package ai.taco.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.bitstream.ScaleTable;
import ai.taco.core.error.WeightsException;
import ai.taco.core.latent.ContextModel;
import ai.taco.core.latent.Hyperprior;
import ai.taco.core.latent.Quantization;
import ai.taco.core.nn.NamedParameters;
import ai.taco.core.nn.ReducedPrecision;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.transform.AnalysisTransform;
import ai.taco.core.transform.SynthesisTransform;
import ai.taco.core.transform.TiledAnalysis;
import ai.taco.core.transform.TiledSynthesis;
import ai.taco.core.weights.StateDict;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The TACO network (official models/taco.py {@code TACO}): gA with the text adapter → {@link Hyperprior} (hA, the
 * EntropyBottleneck for z, hS) → {@link ContextModel} (checkerboard + channel-slice context with a GaussianConditional
 * for y) → gS. Parameter names are the official state-dict keys, all in one {@link NamedParameters} (the bottleneck's
 * own parameters under {@code entropy_bottleneck.}).
 *
 * <p>Training use: {@link #create} or {@link #load}, {@link #parameters()} to optimise, {@link #forward} inside an
 * {@code NDScope} + {@code GradientCollector}. Coding use goes through {@link TacoCodec}. Not thread-safe while
 * training; {@link #compress}/{@link #decompress} only read the model.
 *
 * <p>Memory: the parameters live in the manager given at creation. Forward results attach to the input's manager, but
 * some intermediates derived from parameters attach to the parameters' manager: run every call inside an
 * {@code NDScope} (or close them yourself).
 */
public final class TacoModel {
  private final TacoConfig config;
  private final NamedParameters store;
  private final AnalysisTransform gA;
  private final SynthesisTransform gS;
  /** Image pixels per latent position (gA downsamples 16 times in each direction). */
  private static final long LATENT_AREA_PIXELS = 16 * 16;

  private final Hyperprior hyperprior;
  private final ContextModel contextModel;
  private final ScaleTable scaleTable;

  /** Declares every network in the official registration order: g_a, g_s, h_a, h_s, then the context model's. */
  private TacoModel(TacoConfig config, ScaleTable table) {
    this.config = config;
    this.store = new NamedParameters();
    this.gA = new AnalysisTransform(store, config.n(), config.m(), config.textDim(), config.heads());
    this.gS = new SynthesisTransform(store, config.n(), config.m());
    this.scaleTable = table;
    this.hyperprior = new Hyperprior(store, config.n(), config.m());
    this.contextModel = new ContextModel(store, config.m(), config.sliceChannels(), table.id());
  }

  /**
   * Loads official weights (state dict keys without {@code module.}; see {@link StateDict#load}) into a new model whose
   * parameters live in {@code manager}. Strict: one {@link WeightsException} lists every missing, unexpected or
   * mis-shaped key. CompressAI buffers are accepted and ignored; call {@link #update()} before coding.
   */
  public static TacoModel load(Map<String, HostTensor> stateDict, TacoConfig config, NDManager manager) {
    return load(stateDict, config, manager, ScaleTable.defaultTable());
  }

  /** As {@link #load(Map, TacoConfig, NDManager)} with a chosen Gaussian scale-table variant. */
  public static TacoModel load(
      Map<String, HostTensor> stateDict, TacoConfig config, NDManager manager, ScaleTable table) {
    TacoModel model = new TacoModel(config, table);
    StateDict.check("TACO " + describe(config), model.expectedShapes(), stateDict, TacoModel::isBufferKey);
    model.store.attach(manager);
    for (String k : model.store.specs().keySet()) {
      model.store.put(k, stateDict.get(k).toNDArray(manager));
    }
    model.hyperprior.loadBottleneck(stateDict, manager);
    return model;
  }

  /** A randomly initialised model (PyTorch's default initialisers, as the official code gets them). */
  public static TacoModel create(TacoConfig config, NDManager manager, long seed) {
    TacoModel model = new TacoModel(config, ScaleTable.defaultTable());
    model.store.initialize(manager, seed);
    model.hyperprior.createBottleneck(manager, seed + 1);
    return model;
  }

  /** Every key and shape a state dict of this architecture must hold (parameters, then the entropy bottleneck). */
  static Map<String, long[]> expectedShapes(TacoConfig config) {
    return new TacoModel(config, ScaleTable.defaultTable()).expectedShapes();
  }

  private Map<String, long[]> expectedShapes() {
    Map<String, long[]> expected = new LinkedHashMap<>();
    store.specs().forEach((k, v) -> expected.put(k, v.shape()));
    expected.putAll(hyperprior.bottleneckShapes());
    return expected;
  }

  /** CompressAI buffers a state dict may carry and loading ignores (owned by the hyperprior and the context model). */
  static boolean isBufferKey(String key) {
    return Hyperprior.BUFFER_KEYS.contains(key) || ContextModel.BUFFER_KEYS.contains(key);
  }

  /** The network parameter names and shapes in official order (without the entropy bottleneck). */
  static Map<String, long[]> networkShapes(TacoConfig config) {
    Map<String, long[]> out = new LinkedHashMap<>();
    new TacoModel(config, ScaleTable.defaultTable()).store.specs().forEach((k, v) -> out.put(k, v.shape()));
    return out;
  }

  private static String describe(TacoConfig c) {
    if (c.equals(TacoConfig.FULL)) {
      return "full preset";
    }
    if (c.equals(TacoConfig.SMALL)) {
      return "small preset";
    }
    if (c.equals(TacoConfig.TINY)) {
      return "tiny preset";
    }
    return c.toString();
  }

  public TacoConfig config() {
    return config;
  }

  public ScaleTable scaleTable() {
    return scaleTable;
  }

  /** Trainable parameters under their official names (live arrays), including {@code entropy_bottleneck.quantiles}. */
  public LinkedHashMap<String, NDArray> parameters() {
    LinkedHashMap<String, NDArray> out = store.values();
    out.putAll(hyperprior.parameters());
    return out;
  }

  /** Every tensor of an official state dict (parameters and CompressAI buffers, as a training checkpoint stores them). */
  public Map<String, HostTensor> stateDict() {
    Map<String, HostTensor> out = new LinkedHashMap<>();
    store.values().forEach((k, v) -> out.put(k, HostTensor.fromNDArray(v)));
    out.putAll(ContextModel.bufferStateDict());
    out.putAll(hyperprior.stateDict());
    return out;
  }

  /** Rebuilds the EntropyBottleneck CDF tables from the current quantiles (CompressAI {@code update(force=True)}). */
  public void update() {
    hyperprior.update();
  }

  /** The EntropyBottleneck auxiliary loss (fits the quantiles; optimised separately, official aux optimizer). */
  public NDArray auxLoss() {
    return hyperprior.auxLoss();
  }

  /** Marks the model read-only: derived kernels get cached (used by {@link TacoCodec}). */
  void freeze() {
    store.freeze();
  }

  // ---------------------------------------------------------------------------------------------- gA and gS

  /** gA: the one place the analysis transform runs (training and encoding), over tiles when the image is larger. */
  private NDArray analysis(NDArray x, NDArray text, StageListener listener, Tiling tiling) {
    return ReducedPrecision.transform(() -> TiledAnalysis.forward(gA, tiling.tile(), tiling.subTile(), x, text, listener::step));
  }

  /** gS: the one place the synthesis transform runs (training and decoding), over tiles when the image is larger. */
  private NDArray synthesis(NDArray yHat, StageListener listener, Tiling tiling) {
    return ReducedPrecision.transform(() -> TiledSynthesis.forward(gS, tiling.synthesisTile(), tiling.subTile(), yHat, listener::step));
  }

  /** The transforms themselves, for per-layer parity tests. */
  AnalysisTransform gA() {
    return gA;
  }

  SynthesisTransform gS() {
    return gS;
  }

  Hyperprior hyperprior() {
    return hyperprior;
  }

  // ---------------------------------------------------------------------------------------------- training

  /**
   * The official {@code forward} with {@code quant='ste'}: latents are rounded with a straight-through estimator for
   * the reconstruction; likelihoods are evaluated on noisy latents when {@code training} (CompressAI's training mode),
   * on rounded ones otherwise.
   *
   * @param x images [B,3,H,W] in [0,1], H and W multiples of 64
   * @param textEmbeddings caption features [B,T,textDim]
   */
  public ForwardResult forward(NDArray x, NDArray textEmbeddings, boolean training) {
    Trace t = forwardTrace(x, textEmbeddings, training);
    return new ForwardResult(t.xHat(), t.yLikelihoods(), t.zLikelihoods());
  }

  /** Intermediate tensors of one forward pass (for parity tests). */
  record Trace(NDArray y, NDArray z, NDArray zHat, NDArray hyper, NDArray yHat, NDArray xHat, NDArray yLikelihoods,
      NDArray zLikelihoods) {}

  Trace forwardTrace(NDArray x, NDArray text, boolean training) {
    checkInput(x, text);
    Quantization mode = training ? Quantization.NOISE : Quantization.DEQUANTIZE;
    NDArray y = analysis(x, text, StageListener.NONE, Tiling.NONE);
    Hyperprior.Forward h = hyperprior.forward(y, mode);
    ContextModel.Forward c = contextModel.forward(y, h.params(), mode);
    NDArray xHat = synthesis(c.yHat(), StageListener.NONE, Tiling.NONE);
    return new Trace(y, h.z(), h.zHat(), h.params(), c.yHat(), xHat, c.yLikelihoods(), h.zLikelihoods());
  }

  private void checkInput(NDArray x, NDArray text) {
    Shape s = x.getShape();
    if (s.dimension() != 4 || s.get(1) != 3) {
      throw new IllegalArgumentException("expected images [B,3,H,W], got " + s);
    }
    checkInput(s.get(0), s.get(2), s.get(3), text);
  }

  /** An image batch of {@code batch} × H × W (multiples of 64) and its caption features [batch,T,textDim]. */
  private void checkInput(long batch, long h, long w, NDArray text) {
    if (h % 64 != 0 || w % 64 != 0) {
      throw new IllegalArgumentException("image size " + h + "x" + w + " is not a multiple of 64 (pad it)");
    }
    if (text == null) {
      throw new IllegalArgumentException("TACO's encoder needs caption features [B,T," + config.textDim() + "]");
    }
    Shape ts = text.getShape();
    if (ts.dimension() != 3 || ts.get(0) != batch || ts.get(2) != config.textDim()) {
      throw new IllegalArgumentException(
          "expected caption features [" + batch + ",T," + config.textDim() + "], got " + ts);
    }
  }

  // ---------------------------------------------------------------------------------------------- entropy coding

  /** The two strings of one coded image and the latent size (official {@code {"strings": [[y], [z]], "shape"}}). */
  record Strings(byte[] yString, byte[] zString, int zHeight, int zWidth) {}

  /**
   * One coded image: its strings and the symbols as coded, which the container's checksums are computed from.
   *
   * @param zSymbols z symbols in coding order (channel-major)
   * @param ySymbols the y symbols' checksum in coding order (and, if recorded, the symbols and CDF indexes)
   */
  record Compressed(Strings strings, int[] zSymbols, ContextModel.SymbolLog ySymbols) {}

  /**
   * The official {@code compress} for ONE image: z coded by the EntropyBottleneck, y in ONE rANS string in the order
   * slice 0 anchors, slice 0 non-anchors, slice 1 anchors, …, each block the squeezed [C_s,H,W/2] tensor row-major.
   * Closes {@code x} once gA has run (its only reader).
   */
  Compressed compress(NDArray x, NDArray text, StageListener listener, Tiling tiling) {
    return compress(x, text, listener, tiling, false);
  }

  /** As {@link #compress(NDArray, NDArray, StageListener, Tiling)}, recording the y symbols themselves (tests). */
  Compressed compress(NDArray x, NDArray text, StageListener listener, Tiling tiling, boolean recordSymbols) {
    checkInput(x, text);
    if (x.getShape().get(0) != 1) {
      throw new IllegalArgumentException("compress codes one image at a time, got batch " + x.getShape().get(0));
    }
    NDManager m = x.getManager();
    listener.stage("gA");
    NDArray y = analysis(x, text, listener, tiling);
    x.close(); // gA was its only reader; a large image should not stay resident through the entropy coding
    return code(y, m, listener, recordSymbols);
  }

  /**
   * As {@link #compress(NDArray, NDArray, StageListener, Tiling)} with gA reading the image [1,3,H,W] (H, W multiples
   * of 64) one tile's crop at a time ({@link TiledAnalysis.Input}): no whole float32 copy of a large image exists.
   */
  Compressed compress(TiledAnalysis.Input x, NDArray text, StageListener listener, Tiling tiling) {
    checkInput(1, x.height(), x.width(), text);
    listener.stage("gA");
    NDArray y = ReducedPrecision.transform(
        () -> TiledAnalysis.forward(gA, tiling.tile(), tiling.subTile(), x, text, listener::step));
    return code(y, text.getManager(), listener, false);
  }

  /** hA, z's EntropyBottleneck, hS and the context model on gA's output y. */
  private Compressed code(NDArray y, NDManager m, StageListener listener, boolean recordSymbols) {
    // Each stage's freed maps go back to the system before the next stage allocates maps of other sizes (gA's tiles
    // and its 1/8 map, then hA/hS's intermediates): an allocator that keeps them (tcmalloc) would otherwise stack the
    // stages' working sets (NativeMemory#releaseFreedMemory; the decoder does the same).
    long pixels = LATENT_AREA_PIXELS * y.getShape().get(2) * y.getShape().get(3);
    NativeMemory.releaseFreedMemory(pixels);
    listener.stage("hyper");
    Hyperprior.Coded z = hyperprior.compress(y, m);
    NativeMemory.releaseFreedMemory(pixels);
    listener.stage("context");
    ContextModel.Coded c = contextModel.compress(y, z.params(), m, recordSymbols);
    z.params().close();
    return new Compressed(new Strings(c.yString(), z.zString(), z.zHeight(), z.zWidth()), z.zSymbols(), c.symbols());
  }

  /**
   * The decoded latents of one image: ŷ [1,M,4·zh,4·zw] and the decoded symbols (for the container's checksums), before
   * the synthesis transform runs, so a caller can refuse them without paying for gS.
   */
  record Latents(NDArray yHat, int[] zSymbols, ContextModel.SymbolLog ySymbols) {}

  /** The entropy-decoding half of the official {@code decompress} (no text needed). */
  Latents decodeLatents(Strings strings, NDManager manager, StageListener listener) {
    return decodeLatents(strings, manager, listener, false);
  }

  /** As {@link #decodeLatents(Strings, NDManager, StageListener)}, recording the y symbols themselves (tests). */
  Latents decodeLatents(Strings strings, NDManager manager, StageListener listener, boolean recordSymbols) {
    listener.stage("hyper");
    Hyperprior.Decoded z = hyperprior.decompress(strings.zString(), strings.zHeight(), strings.zWidth(), manager);
    // hS's intermediates, before the context stage allocates (see code()).
    NativeMemory.releaseFreedMemory(LATENT_AREA_PIXELS * 16L * strings.zHeight() * strings.zWidth()); // ẑ is y/4
    listener.stage("context");
    // The hyper parameters (2M channels at 1/16 of the pixels: 1 GB at 100 megapixels) are closed as soon as the
    // symbols are decoded: they would otherwise live beside ŷ and through gS.
    ContextModel.Decoded y = contextModel.decompressConsuming(strings.yString(), z.params(), 4 * strings.zHeight(),
        4 * strings.zWidth(), manager, recordSymbols);
    return new Latents(y.yHat(), z.zSymbols(), y.symbols());
  }

  /** The rest of the official {@code decompress}: x̂ = gS(ŷ), [1,3,16·h,16·w], uncropped and unclamped. */
  NDArray synthesize(NDArray yHat, StageListener listener, Tiling tiling) {
    listener.stage("gS");
    return synthesis(yHat, listener, tiling);
  }

  /**
   * {@link #synthesize} handed to {@code out} in bands (TiledSynthesis#bands): the same floats, but x̂ is never whole
   * in native memory. {@code out} runs in gS's precision scope, so it must run no network itself.
   */
  void synthesizeBands(NDArray yHat, StageListener listener, Tiling tiling, TiledSynthesis.Output out) {
    listener.stage("gS");
    ReducedPrecision.transform(() -> {
      TiledSynthesis.bands(gS, tiling.synthesisTile(), tiling.subTile(), yHat, listener::step, out);
      return null;
    });
  }
}
