package ai.taco.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.entropy.GaussianConditional;
import ai.taco.core.entropy.Quantization;
import ai.taco.core.latent.ScaleTable;
import ai.taco.core.nn.Conv;
import ai.taco.core.nn.NamedParameters;
import ai.taco.core.nn.Scoped;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.transform.ChannelContext;
import ai.taco.core.transform.Checkerboard;
import ai.taco.core.transform.EntropyParameters;
import ai.taco.entropy.CdfTables;
import ai.taco.entropy.EntropyCodingException;
import ai.taco.entropy.RansDecoder;
import ai.taco.entropy.RansEncoder;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * TACO's entropy model for y: the checkerboard (He et al. 2021) + uneven channel-group (ELIC, He et al. 2022) context
 * model of the official models/taco.py. y is cut into slices ({@link TacoConfig#sliceChannels()}); each slice is coded
 * in two checkerboard halves, anchors from the hyper parameters and the channel context of the decoded slices, then
 * non-anchors with the local (spatial) context of the decoded anchors as well; a {@link GaussianConditional} with those
 * scales and means gives likelihoods (training) or CDF indexes (coding).
 *
 * <p>One slice loop ({@link #slices}) serves training, encoding and decoding; they differ only in how one half is
 * quantized ({@link Halves}).
 */
final class ContextModel {
  /**
   * CompressAI buffers of the Gaussian conditional a state dict may carry. They are not loaded: the Gaussian tables are
   * format constants ({@link ScaleTable}) and the bounds are constants of the code.
   */
  static final Set<String> BUFFER_KEYS =
      Set.of(
          "gaussian_conditional._offset",
          "gaussian_conditional._quantized_cdf",
          "gaussian_conditional._cdf_length",
          "gaussian_conditional.scale_table",
          "gaussian_conditional.scale_bound",
          "gaussian_conditional.likelihood_lower_bound.bound",
          "gaussian_conditional.lower_bound_scale.bound");

  private final TacoConfig config;
  /** Per slice: 5×5 conv C_i → 2·C_i over the decoded anchors (spatial context for the non-anchors). */
  private final Conv[] localContext;
  /** Per slice (index 0 unused: the first slice has no channel context). */
  private final ChannelContext[] channelContext;
  private final EntropyParameters[] anchorParams;
  private final EntropyParameters[] nonAnchorParams;
  private final GaussianConditional gaussianConditional;
  /** The Gaussian CDF tables of the chosen scale-table variant, as the rANS coder takes them. */
  private final CdfTables gaussianTables;

  /** Declares the per-slice networks in {@code p} in the official registration order. */
  ContextModel(NamedParameters p, TacoConfig c, ScaleTable table) {
    this.config = c;
    int m = c.m();
    int k = c.slices();
    localContext = new Conv[k];
    for (int i = 0; i < k; i++) {
      int ch = c.sliceChannels().get(i);
      localContext[i] = new Conv(p, "local_context." + i, ch, 2 * ch, 5, 1);
    }
    channelContext = new ChannelContext[k];
    for (int i = 1; i < k; i++) {
      channelContext[i] = new ChannelContext(p, "channel_context." + i, c.sliceStart(i), 2 * c.sliceChannels().get(i));
    }
    anchorParams = new EntropyParameters[k];
    for (int i = 0; i < k; i++) {
      int ch = c.sliceChannels().get(i);
      int in = i == 0 ? 2 * m : 2 * m + 2 * ch;
      anchorParams[i] = new EntropyParameters(p, "entropy_parameters_anchor." + i, in, 2 * ch);
    }
    nonAnchorParams = new EntropyParameters[k];
    for (int i = 0; i < k; i++) {
      int ch = c.sliceChannels().get(i);
      int in = i == 0 ? 2 * m + 2 * ch : 2 * m + 4 * ch;
      nonAnchorParams[i] = new EntropyParameters(p, "entropy_parameters_nonanchor." + i, in, 2 * ch);
    }
    gaussianConditional = new GaussianConditional(table);
    gaussianTables = CdfTables.fromPadded(table.paddedCdfs(), table.cdfLengths(), table.offsets());
  }

  ScaleTable scaleTable() {
    return gaussianConditional.scaleTable();
  }

  /** The Gaussian conditional's state-dict buffers as official training checkpoints carry them (empty CDF tables). */
  static Map<String, HostTensor> bufferStateDict() {
    Map<String, HostTensor> out = new LinkedHashMap<>();
    HostTensor emptyInt = HostTensor.ofInts(new int[0], 0);
    out.put("gaussian_conditional._offset", emptyInt);
    out.put("gaussian_conditional._quantized_cdf", emptyInt);
    out.put("gaussian_conditional._cdf_length", emptyInt);
    out.put("gaussian_conditional.scale_table", HostTensor.ofFloats(new float[0], 0));
    out.put("gaussian_conditional.scale_bound", HostTensor.ofFloats(new float[] {ScaleTable.SCALE_BOUND}, 1));
    out.put(
        "gaussian_conditional.likelihood_lower_bound.bound",
        HostTensor.ofFloats(new float[] {GaussianConditional.LIKELIHOOD_BOUND}, 1));
    out.put("gaussian_conditional.lower_bound_scale.bound",
        HostTensor.ofFloats(new float[] {ScaleTable.SCALE_BOUND}, 1));
    return out;
  }

  // ---------------------------------------------------------------------------------------------- the slice loop

  /** How one checkerboard half of one slice is quantized: the only difference between training and coding. */
  private interface Halves {
    /**
     * What the entropy-parameter network of a half sees, from the channel concatenation of {@code parts}: the full
     * grid (training) or that half squeezed (coding).
     */
    NDArray select(NDList parts, boolean anchor);

    /** ŷ of one half on the full [1,C,H,W] grid, zeros at the other half's positions, given its scales and means. */
    NDArray code(int slice, boolean anchor, NDArray scales, NDArray means);

    /** Whether a slice's intermediates may be freed once its ŷ exists (coding: yes; training keeps its graph). */
    default boolean freesIntermediates() {
      return false;
    }
  }

  /**
   * The official slice loop (TACO.forward/compress/decompress): per slice, anchor parameters from the hyper parameters
   * (and the channel context of the decoded slices), the anchors, the local context of the decoded anchors,
   * non-anchor parameters, the non-anchors. Returns ŷ.
   */
  private NDArray slices(NDArray hyper, Halves halves) {
    NDList yHatSlices = new NDList();
    for (int i = 0; i < config.slices(); i++) {
      int slice = i;
      // Coding frees each slice's intermediates (context and parameter maps over the whole latent) as soon as the
      // slice is coded: kept to the end of the call they were the largest allocation of a large image. Training keeps
      // them, since its likelihoods and backward pass need them.
      yHatSlices.add(halves.freesIntermediates()
          ? Scoped.step(() -> slice(hyper, halves, slice, yHatSlices))
          : slice(hyper, halves, slice, yHatSlices));
    }
    return concat(yHatSlices, 1);
  }

  /**
   * One slice of {@link #slices}: its ŷ, given the ŷ of the slices before it. Each network runs in a step of its own
   * ({@link Scoped#step}), so its input concatenation and intermediates are freed as soon as it has run: over the
   * whole latent of a large image they were the context stage's largest allocations (1.3 GB at 3840×2160, most of it
   * in the last slice).
   */
  private NDArray slice(NDArray hyper, Halves halves, int i, NDList yHatSlices) {
    NDArray channelCtx = i == 0 ? null : Scoped.step(() -> channelContext[i].forward(concat(yHatSlices, 1)));
    NDList anchorIn = i == 0 ? new NDList(hyper) : new NDList(channelCtx, hyper);
    NDList pa = Scoped.step(() -> anchorParams[i].forward(halves.select(anchorIn, true))).split(2, 1);
    NDArray anchorHat = halves.code(i, true, pa.get(0), pa.get(1));
    NDArray local = Scoped.step(() -> localContext[i].forward(anchorHat));
    NDList nonAnchorIn = i == 0 ? new NDList(local, hyper) : new NDList(local, channelCtx, hyper);
    NDList pn = Scoped.step(() -> nonAnchorParams[i].forward(halves.select(nonAnchorIn, false))).split(2, 1);
    NDArray nonAnchorHat = halves.code(i, false, pn.get(0), pn.get(1));
    // The halves occupy disjoint positions: x + 0 = x, as the official sum.
    return anchorHat.add(nonAnchorHat);
  }

  // ---------------------------------------------------------------------------------------------- training

  /** ŷ (straight-through rounded around the means) and the likelihoods of y. */
  record Forward(NDArray yHat, NDArray yLikelihoods) {}

  /**
   * The official forward with {@code quant='ste'}: the entropy parameters are evaluated on the full grid and masked per
   * half; likelihoods come from {@code mode} (NOISE in training, DEQUANTIZE in evaluation).
   */
  Forward forward(NDArray y, NDArray hyper, Quantization mode) {
    NDList likelihoods = new NDList();
    NDArray yHat = slices(hyper, new Halves() {
      private NDArray ySlice;
      private NDArray scalesAnchor;
      private NDArray meansAnchor;

      @Override
      public NDArray select(NDList parts, boolean anchor) {
        return concat(parts, 1);
      }

      @Override
      public NDArray code(int slice, boolean anchor, NDArray scales, NDArray means) {
        if (anchor) {
          int start = config.sliceStart(slice);
          ySlice = y.get(":, " + start + ":" + (start + config.sliceChannels().get(slice)));
          scalesAnchor = Checkerboard.anchor(scales);
          meansAnchor = Checkerboard.anchor(means);
          return GaussianConditional.quantize(Checkerboard.anchor(ySlice), Quantization.STE, meansAnchor);
        }
        NDArray scalesNonAnchor = Checkerboard.nonAnchor(scales);
        NDArray meansNonAnchor = Checkerboard.nonAnchor(means);
        NDArray allScales = scalesAnchor.add(scalesNonAnchor);
        NDArray allMeans = meansAnchor.add(meansNonAnchor);
        likelihoods.add(gaussianConditional.forward(ySlice, allScales, allMeans, mode).get(1));
        return GaussianConditional.quantize(Checkerboard.nonAnchor(ySlice), Quantization.STE, meansNonAnchor);
      }
    });
    return new Forward(yHat, concat(likelihoods, 1));
  }

  // ---------------------------------------------------------------------------------------------- coding

  /** Symbols and CDF indexes of the y coder, in coding order. */
  record CodedSymbols(int[] symbols, int[] indexes) {}

  /** Gives the symbols of one squeezed half from its CDF indexes (and means): quantization or rANS decoding. */
  private interface SymbolSource {
    int[] symbols(int slice, boolean anchor, int[] indexes, float[] means);
  }

  /** Coding halves: parameters on the squeezed half only, symbols from {@code source}, collected in coding order. */
  private Halves coding(NDManager m, int h, int w, SymbolSource source, SymbolSink sink) {
    return new Halves() {
      @Override
      public NDArray select(NDList parts, boolean anchor) {
        // The entropy-parameter networks are per-pixel (1×1 convolutions), so evaluating them on the squeezed half the
        // coder needs gives the same values as the official full-grid evaluation at half the cost.
        return Checkerboard.squeezeConcat(parts, anchor);
      }

      @Override
      public NDArray code(int slice, boolean anchor, NDArray scales, NDArray means) {
        int ch = config.sliceChannels().get(slice);
        float[] mu = floats(means);
        int[] indexes = gaussianConditional.buildIndexes(floats(scales));
        int[] symbols = source.symbols(slice, anchor, indexes, mu);
        sink.add(symbols, indexes);
        float[] hat = new float[ch * h * w];
        scatterSqueezed(GaussianConditional.dequantize(symbols, mu), ch, h, w, anchor, hat);
        return m.create(hat, new Shape(1, ch, h, w));
      }

      @Override
      public boolean freesIntermediates() {
        return true;
      }
    };
  }

  /** The coded y: ONE rANS string and its symbols. */
  record Coded(byte[] yString, CodedSymbols symbols) {}

  /**
   * Codes y [1,M,h,w] into ONE rANS string in the order slice 0 anchors, slice 0 non-anchors, slice 1 anchors, …, each
   * block the squeezed [C_s,h,w/2] tensor row-major (official TACO.compress). Arrays built from host values are
   * created in {@code manager}.
   */
  Coded compress(NDArray y, NDArray hyper, NDManager manager) {
    int h = (int) y.getShape().get(2);
    int w = (int) y.getShape().get(3);
    Checkerboard.requireEven(h, w);
    CodedSymbols coded = symbols(y, hyper, manager, h, w);
    return new Coded(RansEncoder.encode(coded.symbols(), coded.indexes(), gaussianTables), coded);
  }

  /**
   * The symbols and CDF indexes of y in coding order. A method of its own so that y's host copy and ŷ are gone before
   * the rANS coder buffers one step per symbol (at 100 megapixels each of them is 0.5 GB).
   */
  private CodedSymbols symbols(NDArray y, NDArray hyper, NDManager manager, int h, int w) {
    float[] yHost = floats(y);
    SymbolSink sink = new SymbolSink(h * w * config.m());
    NDArray yHat = slices(hyper, coding(manager, h, w, (slice, anchor, indexes, means) -> {
      int ch = config.sliceChannels().get(slice);
      float[] ys = new float[ch * h * (w / 2)];
      gatherSqueezed(yHost, config.sliceStart(slice) * h * w, ch, h, w, anchor, ys);
      return GaussianConditional.quantizeSymbols(ys, means);
    }, sink));
    yHat.close();
    return sink.result();
  }

  /** ŷ decoded from one y string, and the decoded symbols. */
  record Decoded(NDArray yHat, CodedSymbols symbols) {}

  /**
   * Decodes ŷ [1,M,h,w] from one y string given the hyper parameters (official TACO.decompress).
   *
   * @throws EntropyCodingException if the string is damaged (including bytes left over after the last symbol)
   */
  Decoded decompress(byte[] yString, NDArray hyper, int h, int w, NDManager manager) {
    RansDecoder decoder = new RansDecoder(yString);
    SymbolSink sink = new SymbolSink(h * w * config.m());
    NDArray yHat = slices(hyper, coding(manager, h, w,
        (slice, anchor, indexes, means) -> decoder.decodeStream(indexes, gaussianTables), sink));
    // A valid y string is used up exactly (the encoder's flushed state is read last); anything else means the
    // bytes were damaged, which the official .bin format would otherwise decode into a plausible-looking image.
    if (!decoder.isComplete()) {
      throw new EntropyCodingException("corrupt y string: its bytes do not end where the decoded symbols do");
    }
    return new Decoded(yHat, sink.result());
  }

  /**
   * Concatenation that keeps autograd: DJL's {@code NDArrays.concat} returns {@code duplicate()} for a single array,
   * and that clone is cut from the graph (no gradient reaches slice 0 through the channel context of slice 1).
   */
  static NDArray concat(NDList arrays, int axis) {
    return arrays.size() == 1 ? arrays.head() : NDArrays.concat(arrays, axis);
  }

  /**
   * The values of a float32 array in row-major order, copied once from libtorch's memory ({@code toFloatArray} goes
   * through a byte[] as large as the array: at 100 megapixels y alone is 0.5 GB, and the heap ran out).
   */
  static float[] floats(NDArray a) {
    // A strided array is made contiguous first; the scope frees that copy at once.
    try (NDScope scope = new NDScope()) {
      FloatBuffer values = a.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer();
      float[] out = new float[values.remaining()];
      values.get(out);
      return out;
    }
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

  /** Symbol/index blocks in coding order, written straight into the final arrays (no second copy of either). */
  private static final class SymbolSink {
    private final int[] symbols;
    private final int[] indexes;
    private int filled;

    SymbolSink(int expected) {
      symbols = new int[expected];
      indexes = new int[expected];
    }

    void add(int[] s, int[] i) {
      if (s.length != i.length || filled + s.length > symbols.length) {
        throw new IllegalStateException("symbol blocks exceed the latent's " + symbols.length + " symbols");
      }
      System.arraycopy(s, 0, symbols, filled, s.length);
      System.arraycopy(i, 0, indexes, filled, i.length);
      filled += s.length;
    }

    CodedSymbols result() {
      if (filled != symbols.length) {
        throw new IllegalStateException("coded " + filled + " of the latent's " + symbols.length + " symbols");
      }
      return new CodedSymbols(symbols, indexes);
    }
  }
}

