package ai.taco.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.entropy.EntropyBottleneck;
import ai.taco.core.entropy.GaussianConditional;
import ai.taco.core.entropy.Quantization;
import ai.taco.core.entropy.ScaleTable;
import ai.taco.core.io.HostTensor;
import ai.taco.core.io.StateDict;
import ai.taco.core.io.WeightsException;
import ai.taco.core.nn.ParameterStore;
import ai.taco.core.nn.Scoped;
import ai.taco.core.transform.Checkerboard;
import ai.taco.core.transform.TiledAnalysis;
import ai.taco.core.transform.TiledSynthesis;
import ai.taco.core.transform.Tiling;
import ai.taco.entropy.CdfTables;
import ai.taco.entropy.EntropyCodingException;
import ai.taco.entropy.RansDecoder;
import ai.taco.entropy.RansEncoder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The TACO network (official models/taco.py {@code TACO}): gA with the text adapter, hyperprior (hA, hS, factorized
 * EntropyBottleneck for z), the checkerboard + uneven channel-slice context model with a GaussianConditional for y, and
 * gS. Parameter names are the official state-dict keys.
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
  /**
   * CompressAI buffers a state dict may carry (CDF tables, scale table, bounds). They are not loaded: the factorized
   * CDFs are recomputed by {@link #update()}, the Gaussian tables are format constants ({@link ScaleTable}), and the
   * bounds are constants of the code.
   */
  static final Set<String> BUFFER_KEYS =
      Set.of(
          "gaussian_conditional._offset",
          "gaussian_conditional._quantized_cdf",
          "gaussian_conditional._cdf_length",
          "gaussian_conditional.scale_table",
          "gaussian_conditional.scale_bound",
          "gaussian_conditional.likelihood_lower_bound.bound",
          "gaussian_conditional.lower_bound_scale.bound",
          "entropy_bottleneck._offset",
          "entropy_bottleneck._quantized_cdf",
          "entropy_bottleneck._cdf_length",
          "entropy_bottleneck.target",
          "entropy_bottleneck.likelihood_lower_bound.bound");

  static final String EB = "entropy_bottleneck.";

  private final TacoConfig config;
  private final ParameterStore store;
  private final Networks nets;
  private final EntropyBottleneck entropyBottleneck;
  private final GaussianConditional gaussianConditional;
  /** The Gaussian CDF tables of the chosen scale-table variant, as the rANS coder takes them. */
  private final CdfTables gaussianTables;

  private TacoModel(TacoConfig config, ParameterStore store, Networks nets, EntropyBottleneck eb, ScaleTable table) {
    this.config = config;
    this.store = store;
    this.nets = nets;
    this.entropyBottleneck = eb;
    this.gaussianConditional = new GaussianConditional(table);
    this.gaussianTables = CdfTables.fromPadded(table.paddedCdfs(), table.cdfLengths(), table.offsets());
  }

  /** The network parameter names and shapes in official order (without the entropy bottleneck). */
  static Map<String, long[]> networkShapes(TacoConfig config) {
    ParameterStore p = new ParameterStore();
    new Networks(p, config);
    Map<String, long[]> out = new LinkedHashMap<>();
    p.specs().forEach((k, v) -> out.put(k, v.shape()));
    return out;
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
    ParameterStore store = new ParameterStore();
    Networks nets = new Networks(store, config);
    Map<String, long[]> expected = new LinkedHashMap<>();
    store.specs().forEach((k, v) -> expected.put(k, v.shape()));
    EntropyBottleneck.shapes(config.n()).forEach((k, v) -> expected.put(EB + k, v));
    StateDict.check("TACO " + describe(config), expected, stateDict, BUFFER_KEYS::contains);
    store.attach(manager);
    for (String k : store.specs().keySet()) {
      store.put(k, stateDict.get(k).toNDArray(manager));
    }
    EntropyBottleneck eb = EntropyBottleneck.load(config.n(), StateDict.withPrefix(stateDict, EB), manager);
    return new TacoModel(config, store, nets, eb, table);
  }

  /** A randomly initialised model (PyTorch's default initialisers, as the official code gets them). */
  public static TacoModel create(TacoConfig config, NDManager manager, long seed) {
    ParameterStore store = new ParameterStore();
    Networks nets = new Networks(store, config);
    store.initialize(manager, seed);
    EntropyBottleneck eb = EntropyBottleneck.create(config.n(), manager, seed + 1);
    return new TacoModel(config, store, nets, eb, ScaleTable.defaultTable());
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
    return gaussianConditional.scaleTable();
  }

  /** Trainable parameters under their official names (live arrays), including {@code entropy_bottleneck.quantiles}. */
  public LinkedHashMap<String, NDArray> parameters() {
    LinkedHashMap<String, NDArray> out = store.values();
    entropyBottleneck.parameters().forEach((k, v) -> out.put(EB + k, v));
    return out;
  }

  /** Every tensor of an official state dict (parameters and CompressAI buffers, as a training checkpoint stores them). */
  public Map<String, HostTensor> stateDict() {
    Map<String, HostTensor> out = new LinkedHashMap<>();
    store.values().forEach((k, v) -> out.put(k, HostTensor.fromNDArray(v)));
    // Training checkpoints carry empty CDF buffers; the bounds are CompressAI's constants.
    HostTensor emptyInt = HostTensor.ofInts(new int[0], 0);
    out.put("gaussian_conditional._offset", emptyInt);
    out.put("gaussian_conditional._quantized_cdf", emptyInt);
    out.put("gaussian_conditional._cdf_length", emptyInt);
    out.put("gaussian_conditional.scale_table", HostTensor.ofFloats(new float[0], 0));
    out.put("gaussian_conditional.scale_bound", HostTensor.ofFloats(new float[] {ScaleTable.SCALE_BOUND}, 1));
    out.put(
        "gaussian_conditional.likelihood_lower_bound.bound",
        HostTensor.ofFloats(new float[] {GaussianConditional.LIKELIHOOD_BOUND}, 1));
    out.put("gaussian_conditional.lower_bound_scale.bound", HostTensor.ofFloats(new float[] {ScaleTable.SCALE_BOUND}, 1));
    entropyBottleneck.stateDict().forEach((k, v) -> out.put(EB + k, v));
    return out;
  }

  /** Rebuilds the EntropyBottleneck CDF tables from the current quantiles (CompressAI {@code update(force=True)}). */
  public void update() {
    entropyBottleneck.update();
  }

  /** The EntropyBottleneck auxiliary loss (fits the quantiles; optimised separately, official aux optimizer). */
  public NDArray auxLoss() {
    return entropyBottleneck.loss();
  }

  /** Marks the model read-only: derived kernels get cached (used by {@link TacoCodec}). */
  void freeze() {
    store.freeze();
  }

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
    return new ForwardResult(t.xHat, t.yLikelihoods, t.zLikelihoods);
  }

  /** Intermediate tensors of one forward pass (for parity tests). */
  static final class Trace {
    NDArray y;
    NDArray z;
    NDArray zHat;
    NDArray hyper;
    NDArray yHat;
    NDArray xHat;
    NDArray yLikelihoods;
    NDArray zLikelihoods;
  }

  Trace forwardTrace(NDArray x, NDArray text, boolean training) {
    checkInput(x, text);
    Quantization mode = training ? Quantization.NOISE : Quantization.DEQUANTIZE;
    Trace t = new Trace();
    t.y = nets.gA.forward(x, text);
    t.z = nets.hA.forward(t.y);
    NDList zOut = entropyBottleneck.forward(t.z, mode);
    t.zLikelihoods = zOut.get(1);
    NDArray medians = entropyBottleneck.medians().reshape(1, -1, 1, 1);
    t.zHat = GaussianConditional.quantize(t.z, Quantization.STE, medians);
    t.hyper = nets.hS.forward(t.zHat);
    NDList yHatSlices = new NDList();
    NDList likelihoods = new NDList();
    for (int i = 0; i < config.slices(); i++) {
      int start = config.sliceStart(i);
      NDArray ySlice = t.y.get(":, " + start + ":" + (start + config.sliceChannels().get(i)));
      NDArray channelCtx = i == 0 ? null : nets.channelContext[i].forward(concat(yHatSlices, 1));
      NDArray anchorIn = i == 0 ? t.hyper : concat(new NDList(channelCtx, t.hyper), 1);
      NDList pa = nets.anchorParams[i].forward(anchorIn).split(2, 1);
      NDArray scalesAnchor = Checkerboard.anchor(pa.get(0));
      NDArray meansAnchor = Checkerboard.anchor(pa.get(1));
      NDArray anchorHat = GaussianConditional.quantize(Checkerboard.anchor(ySlice), Quantization.STE, meansAnchor);
      NDArray local = nets.localContext[i].forward(anchorHat);
      NDArray nonAnchorIn =
          i == 0
              ? concat(new NDList(local, t.hyper), 1)
              : concat(new NDList(local, channelCtx, t.hyper), 1);
      NDList pn = nets.nonAnchorParams[i].forward(nonAnchorIn).split(2, 1);
      NDArray scalesNonAnchor = Checkerboard.nonAnchor(pn.get(0));
      NDArray meansNonAnchor = Checkerboard.nonAnchor(pn.get(1));
      NDArray scales = scalesAnchor.add(scalesNonAnchor);
      NDArray means = meansAnchor.add(meansNonAnchor);
      likelihoods.add(gaussianConditional.forward(ySlice, scales, means, mode).get(1));
      NDArray nonAnchorHat =
          GaussianConditional.quantize(Checkerboard.nonAnchor(ySlice), Quantization.STE, meansNonAnchor);
      yHatSlices.add(anchorHat.add(nonAnchorHat));
    }
    t.yHat = concat(yHatSlices, 1);
    t.yLikelihoods = concat(likelihoods, 1);
    t.xHat = nets.gS.forward(t.yHat);
    return t;
  }

  private void checkInput(NDArray x, NDArray text) {
    Shape s = x.getShape();
    if (s.dimension() != 4 || s.get(1) != 3) {
      throw new IllegalArgumentException("expected images [B,3,H,W], got " + s);
    }
    if (s.get(2) % 64 != 0 || s.get(3) % 64 != 0) {
      throw new IllegalArgumentException("image size " + s.get(2) + "x" + s.get(3) + " is not a multiple of 64 (pad it)");
    }
    if (text == null) {
      throw new IllegalArgumentException("TACO's encoder needs caption features [B,T," + config.textDim() + "]");
    }
    Shape ts = text.getShape();
    if (ts.dimension() != 3 || ts.get(0) != s.get(0) || ts.get(2) != config.textDim()) {
      throw new IllegalArgumentException(
          "expected caption features [" + s.get(0) + ",T," + config.textDim() + "], got " + ts);
    }
  }

  // ---------------------------------------------------------------------------------------------- entropy coding

  /** The two strings of one coded image and the latent size (official {@code {"strings": [[y], [z]], "shape"}}). */
  record Strings(byte[] yString, byte[] zString, int zHeight, int zWidth) {}

  /** Symbols and CDF indexes passed to the y coder, in coding order (for tests and checksums). */
  record CodedSymbols(int[] symbols, int[] indexes) {}

  /** Optional observer of encoder internals (tests, benchmark stage timing). */
  interface Probe {
    default void stage(String name) {}

    /** After each gA / gS step (profiling). */
    default void step(String name) {}

    default void ySymbols(CodedSymbols s) {}

    /** z symbols in coding order (channel-major). */
    default void zSymbols(int[] symbols) {}
  }

  static final Probe NO_PROBE = new Probe() {};

  /**
   * The official {@code compress} for ONE image: z coded by the EntropyBottleneck, y in ONE rANS string in the order
   * slice 0 anchors, slice 0 non-anchors, slice 1 anchors, …, each block the squeezed [C_s,H,W/2] tensor row-major.
   */
  Strings compress(NDArray x, NDArray text, Probe probe) {
    return compress(x, text, probe, Tiling.NONE);
  }

  /** As {@link #compress(NDArray, NDArray, Probe)} with gA run over tiles (same strings up to float rounding). */
  Strings compress(NDArray x, NDArray text, Probe probe, Tiling tiling) {
    checkInput(x, text);
    if (x.getShape().get(0) != 1) {
      throw new IllegalArgumentException("compress codes one image at a time, got batch " + x.getShape().get(0));
    }
    probe.stage("gA");
    NDArray y = TiledAnalysis.forward(nets.gA, tiling, x, text, probe::step);
    probe.stage("hyper");
    NDArray z = nets.hA.forward(y);
    int zh = (int) z.getShape().get(2);
    int zw = (int) z.getShape().get(3);
    byte[] zString = entropyBottleneck.compress(z)[0];
    probe.zSymbols(zSymbols(z.toFloatArray(), zh * zw));
    NDArray zHat = entropyBottleneck.decompress(new byte[][] {zString}, zh, zw, x.getManager());
    NDArray hyper = nets.hS.forward(zHat);
    probe.stage("context");
    int h = (int) y.getShape().get(2);
    int w = (int) y.getShape().get(3);
    Checkerboard.requireEven(h, w);
    float[] yHost = y.toFloatArray();
    SymbolSink sink = new SymbolSink(h * w * config.m());
    slices(x.getManager(), hyper, h, w, (slice, anchor, scales, means, hat) -> {
      int ch = config.sliceChannels().get(slice);
      int base = config.sliceStart(slice) * h * w;
      float[] ys = new float[ch * h * (w / 2)];
      gatherSqueezed(yHost, base, ch, h, w, anchor, ys);
      int[] symbols = GaussianConditional.quantizeSymbols(ys, means);
      int[] indexes = gaussianConditional.buildIndexes(scales);
      sink.add(symbols, indexes);
      scatterSqueezed(GaussianConditional.dequantize(symbols, means), ch, h, w, anchor, hat);
    });
    CodedSymbols coded = sink.result();
    probe.ySymbols(coded);
    byte[] yString = RansEncoder.encode(coded.symbols(), coded.indexes(), gaussianTables);
    return new Strings(yString, zString, zh, zw);
  }

  /** The official {@code decompress}: x̂ [1,3,64·zh,64·zw] (uncropped), no text needed. */
  NDArray decompress(Strings strings, NDManager manager, Probe probe) {
    return decompress(strings, manager, probe, Tiling.NONE);
  }

  /** As {@link #decompress(Strings, NDManager, Probe)} with gS run over tiles. */
  NDArray decompress(Strings strings, NDManager manager, Probe probe, Tiling tiling) {
    probe.stage("hyper");
    NDArray zHat =
        entropyBottleneck.decompress(new byte[][] {strings.zString()}, strings.zHeight(), strings.zWidth(), manager);
    // ẑ = symbol + median in float32, so rint(ẑ - median) gives the symbol back exactly.
    probe.zSymbols(zSymbols(zHat.toFloatArray(), strings.zHeight() * strings.zWidth()));
    NDArray hyper = nets.hS.forward(zHat);
    probe.stage("context");
    int h = 4 * strings.zHeight();
    int w = 4 * strings.zWidth();
    RansDecoder decoder = new RansDecoder(strings.yString());
    SymbolSink sink = new SymbolSink(h * w * config.m());
    NDArray yHat = slices(manager, hyper, h, w, (slice, anchor, scales, means, hat) -> {
      int ch = config.sliceChannels().get(slice);
      int[] indexes = gaussianConditional.buildIndexes(scales);
      int[] symbols = decoder.decodeStream(indexes, gaussianTables);
      sink.add(symbols, indexes);
      scatterSqueezed(GaussianConditional.dequantize(symbols, means), ch, h, w, anchor, hat);
    });
    // A valid y string is used up exactly (the encoder's flushed state is read last); anything else means the
    // bytes were damaged, which the official .bin format would otherwise decode into a plausible-looking image.
    if (!decoder.isComplete()) {
      throw new EntropyCodingException("corrupt y string: its bytes do not end where the decoded symbols do");
    }
    probe.ySymbols(sink.result());
    probe.stage("gS");
    return TiledSynthesis.forward(nets.gS, tiling, yHat, probe::step);
  }

  /** rint(z - median) per channel: the EntropyBottleneck's symbols, channel-major. */
  private int[] zSymbols(float[] z, int spatial) {
    float[] medians = entropyBottleneck.medianValues();
    int[] out = new int[z.length];
    for (int i = 0; i < z.length; i++) {
      out[i] = (int) Math.rint(z[i] - medians[i / spatial]);
    }
    return out;
  }

  /**
   * Codes one half (anchors or non-anchors) of one slice from its scales/means in squeezed order: fills {@code hat}
   * (zeros elsewhere).
   */
  private interface HalfCoder {
    void code(int slice, boolean anchor, float[] scales, float[] means, float[] hat);
  }

  /**
   * The context-model loop shared by compress and decompress (official TACO.compress/decompress): per slice, anchor
   * parameters from the hyperprior (and the channel context of the decoded slices), code the anchors, local context
   * of the decoded anchors, non-anchor parameters, code the non-anchors. Returns ŷ.
   */
  private NDArray slices(NDManager m, NDArray hyper, int h, int w, HalfCoder coder) {
    NDList yHatSlices = new NDList();
    for (int i = 0; i < config.slices(); i++) {
      int slice = i;
      // Each slice's intermediates (context and parameter maps over the whole latent) go when it is coded: kept to
      // the end of the call they were the largest allocation of a large image's encode or decode.
      yHatSlices.add(Scoped.step(() -> slice(m, hyper, h, w, coder, slice, yHatSlices)));
    }
    return concat(yHatSlices, 1);
  }

  /** One slice of {@link #slices}: its ŷ. */
  private NDArray slice(NDManager m, NDArray hyper, int h, int w, HalfCoder coder, int i, NDList yHatSlices) {
    {
      int ch = config.sliceChannels().get(i);
      NDArray channelCtx = i == 0 ? null : nets.channelContext[i].forward(concat(yHatSlices, 1));
      NDArray anchorIn = i == 0 ? hyper : concat(new NDList(channelCtx, hyper), 1);
      // The entropy-parameter networks are per-pixel (1×1 convolutions), so evaluating them on the squeezed half the
      // coder needs gives the same values as the official full-grid evaluation at half the cost.
      NDList pa = nets.anchorParams[i].forward(Checkerboard.squeeze(anchorIn, true)).split(2, 1);
      float[] anchorHat = new float[ch * h * w];
      coder.code(i, true, pa.get(0).toFloatArray(), pa.get(1).toFloatArray(), anchorHat);
      NDArray anchorNd = m.create(anchorHat, new Shape(1, ch, h, w));
      NDArray local = nets.localContext[i].forward(anchorNd);
      NDArray nonAnchorIn =
          i == 0
              ? concat(new NDList(local, hyper), 1)
              : concat(new NDList(local, channelCtx, hyper), 1);
      NDList pn = nets.nonAnchorParams[i].forward(Checkerboard.squeeze(nonAnchorIn, false)).split(2, 1);
      float[] hat = anchorHat; // anchors and non-anchors occupy disjoint positions: x + 0 = x, as the official sum
      coder.code(i, false, pn.get(0).toFloatArray(), pn.get(1).toFloatArray(), hat);
      return m.create(hat, new Shape(1, ch, h, w));
    }
  }

  /**
   * Concatenation that keeps autograd: DJL's {@code NDArrays.concat} returns {@code duplicate()} for a single array,
   * and that clone is cut from the graph (no gradient reaches slice 0 through the channel context of slice 1).
   */
  static NDArray concat(NDList arrays, int axis) {
    return arrays.size() == 1 ? arrays.head() : NDArrays.concat(arrays, axis);
  }

  /** Collects [C,H,W] values at anchor (or non-anchor) positions in squeezed row-major order. */
  static void gatherSqueezed(float[] src, int base, int ch, int h, int w, boolean anchor, float[] dst) {
    int k = 0;
    int half = w / 2;
    for (int c = 0; c < ch; c++) {
      int plane = base + c * h * w;
      for (int r = 0; r < h; r++) {
        for (int j = 0; j < half; j++) {
          dst[k++] = src[plane + Checkerboard.position(anchor, r, j, w)];
        }
      }
    }
  }

  /** Inverse of {@link #gatherSqueezed} into a [C,H,W] array (other positions untouched). */
  static void scatterSqueezed(float[] src, int ch, int h, int w, boolean anchor, float[] dst) {
    int k = 0;
    int half = w / 2;
    for (int c = 0; c < ch; c++) {
      int plane = c * h * w;
      for (int r = 0; r < h; r++) {
        for (int j = 0; j < half; j++) {
          dst[plane + Checkerboard.position(anchor, r, j, w)] = src[k++];
        }
      }
    }
  }

  /** Concatenates symbol/index blocks in coding order. */
  private static final class SymbolSink {
    private final List<int[]> symbols = new ArrayList<>();
    private final List<int[]> indexes = new ArrayList<>();
    private final int expected;

    SymbolSink(int expected) {
      this.expected = expected;
    }

    void add(int[] s, int[] i) {
      symbols.add(s);
      indexes.add(i);
    }

    CodedSymbols result() {
      int[] s = new int[expected];
      int[] ix = new int[expected];
      int k = 0;
      for (int b = 0; b < symbols.size(); b++) {
        System.arraycopy(symbols.get(b), 0, s, k, symbols.get(b).length);
        System.arraycopy(indexes.get(b), 0, ix, k, indexes.get(b).length);
        k += symbols.get(b).length;
      }
      return new CodedSymbols(s, ix);
    }
  }
}
