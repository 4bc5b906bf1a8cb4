package ai.taco.core.latent;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.taco.core.io.HostTensor;
import ai.taco.core.nn.Conv;
import ai.taco.core.nn.ParameterStore;
import ai.taco.core.nn.Scoped;
import ai.taco.entropy.EntropyCodingException;
import ai.taco.entropy.RansDecoder;
import ai.taco.entropy.RansEncoder;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * TACO's entropy model for y: the checkerboard (He et al. 2021) + uneven channel-group (ELIC, He et al. 2022) context
 * model of the official models/taco.py. y is cut into slices (TacoConfig's {@code sliceChannels}); each slice is coded
 * in two checkerboard halves, anchors from the hyper parameters and the channel context of the decoded slices, then
 * non-anchors with the local (spatial) context of the decoded anchors as well; a {@link GaussianConditional} with those
 * scales and means gives likelihoods (training) or CDF indexes (coding).
 *
 * <p>One slice loop ({@link #slices}) serves training, encoding and decoding; they differ only in how one half is
 * quantized ({@link Halves}). The checkerboard split ({@link Checkerboard}) and the two per-slice networks ({@link
 * ChannelContext}, {@link EntropyParameters}) exist only for this model and live here with it.
 */
public final class ContextModel {
  /**
   * CompressAI buffers of the Gaussian conditional a state dict may carry. They are not loaded: the Gaussian tables are
   * format constants ({@link GaussianConditional}) and the bounds are constants of the code.
   */
  public static final Set<String> BUFFER_KEYS =
      Set.of(
          "gaussian_conditional._offset",
          "gaussian_conditional._quantized_cdf",
          "gaussian_conditional._cdf_length",
          "gaussian_conditional.scale_table",
          "gaussian_conditional.scale_bound",
          "gaussian_conditional.likelihood_lower_bound.bound",
          "gaussian_conditional.lower_bound_scale.bound");

  /** Channels of each slice of y (TacoConfig's {@code sliceChannels}). */
  private final int[] sliceChannels;
  /** First channel of each slice. */
  private final int[] sliceStart;
  /** Channels of y (M). */
  private final int latentChannels;
  /** Per slice: 5×5 conv C_i → 2·C_i over the decoded anchors (spatial context for the non-anchors). */
  private final Conv[] localContext;
  /** Per slice (index 0 unused: the first slice has no channel context). */
  private final ChannelContext[] channelContext;
  private final EntropyParameters[] anchorParams;
  private final EntropyParameters[] nonAnchorParams;
  /** The Gaussian conditional of y; its CDF tables are the only ones the y coder uses. */
  private final GaussianConditional gaussianConditional;

  /**
   * Declares the per-slice networks in {@code p} in the official registration order.
   *
   * @param m channels of y
   * @param slices channels of each slice (summing to {@code m})
   * @param scaleTable the Gaussian scale-table variant ({@code torch1} or {@code torch2})
   */
  public ContextModel(ParameterStore p, int m, List<Integer> slices, String scaleTable) {
    int k = slices.size();
    latentChannels = m;
    sliceChannels = new int[k];
    sliceStart = new int[k];
    for (int i = 0, start = 0; i < k; start += slices.get(i), i++) {
      sliceChannels[i] = slices.get(i);
      sliceStart[i] = start;
    }
    localContext = new Conv[k];
    for (int i = 0; i < k; i++) {
      int ch = sliceChannels[i];
      localContext[i] = new Conv(p, "local_context." + i, ch, 2 * ch, 5, 1);
    }
    channelContext = new ChannelContext[k];
    for (int i = 1; i < k; i++) {
      channelContext[i] = new ChannelContext(p, "channel_context." + i, sliceStart[i], 2 * sliceChannels[i]);
    }
    anchorParams = new EntropyParameters[k];
    for (int i = 0; i < k; i++) {
      int ch = sliceChannels[i];
      int in = i == 0 ? 2 * m : 2 * m + 2 * ch;
      anchorParams[i] = new EntropyParameters(p, "entropy_parameters_anchor." + i, in, 2 * ch);
    }
    nonAnchorParams = new EntropyParameters[k];
    for (int i = 0; i < k; i++) {
      int ch = sliceChannels[i];
      int in = i == 0 ? 2 * m + 2 * ch : 2 * m + 4 * ch;
      nonAnchorParams[i] = new EntropyParameters(p, "entropy_parameters_nonanchor." + i, in, 2 * ch);
    }
    gaussianConditional = new GaussianConditional(scaleTable);
  }

  /** The Gaussian conditional's state-dict buffers as official training checkpoints carry them (empty CDF tables). */
  public static Map<String, HostTensor> bufferStateDict() {
    Map<String, HostTensor> out = new LinkedHashMap<>();
    HostTensor emptyInt = HostTensor.ofInts(new int[0], 0);
    out.put("gaussian_conditional._offset", emptyInt);
    out.put("gaussian_conditional._quantized_cdf", emptyInt);
    out.put("gaussian_conditional._cdf_length", emptyInt);
    out.put("gaussian_conditional.scale_table", HostTensor.ofFloats(new float[0], 0));
    out.put("gaussian_conditional.scale_bound", HostTensor.ofFloats(new float[] {GaussianConditional.SCALE_BOUND}, 1));
    out.put(
        "gaussian_conditional.likelihood_lower_bound.bound",
        HostTensor.ofFloats(new float[] {GaussianConditional.LIKELIHOOD_BOUND}, 1));
    out.put("gaussian_conditional.lower_bound_scale.bound",
        HostTensor.ofFloats(new float[] {GaussianConditional.SCALE_BOUND}, 1));
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
    for (int i = 0; i < sliceChannels.length; i++) {
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
  public record Forward(NDArray yHat, NDArray yLikelihoods) {}

  /**
   * The official forward with {@code quant='ste'}: the entropy parameters are evaluated on the full grid and masked per
   * half; likelihoods come from {@code mode} (NOISE in training, DEQUANTIZE in evaluation).
   */
  public Forward forward(NDArray y, NDArray hyper, Quantization mode) {
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
          int start = sliceStart[slice];
          ySlice = y.get(":, " + start + ":" + (start + sliceChannels[slice]));
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
  public record CodedSymbols(int[] symbols, int[] indexes) {}

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
        int ch = sliceChannels[slice];
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
  public record Coded(byte[] yString, CodedSymbols symbols) {}

  /**
   * Codes y [1,M,h,w] into ONE rANS string in the order slice 0 anchors, slice 0 non-anchors, slice 1 anchors, …, each
   * block the squeezed [C_s,h,w/2] tensor row-major (official TACO.compress). Arrays built from host values are
   * created in {@code manager}.
   */
  public Coded compress(NDArray y, NDArray hyper, NDManager manager) {
    int h = (int) y.getShape().get(2);
    int w = (int) y.getShape().get(3);
    Checkerboard.requireEven(h, w);
    CodedSymbols coded = symbols(y, hyper, manager, h, w);
    return new Coded(RansEncoder.encode(coded.symbols(), coded.indexes(), gaussianConditional.cdfTables()), coded);
  }

  /**
   * The symbols and CDF indexes of y in coding order. A method of its own so that y's host copy and ŷ are gone before
   * the rANS coder buffers one step per symbol (at 100 megapixels each of them is 0.5 GB).
   */
  private CodedSymbols symbols(NDArray y, NDArray hyper, NDManager manager, int h, int w) {
    float[] yHost = floats(y);
    SymbolSink sink = new SymbolSink(h * w * latentChannels);
    NDArray yHat = slices(hyper, coding(manager, h, w, (slice, anchor, indexes, means) -> {
      int ch = sliceChannels[slice];
      float[] ys = new float[ch * h * (w / 2)];
      gatherSqueezed(yHost, sliceStart[slice] * h * w, ch, h, w, anchor, ys);
      return GaussianConditional.quantizeSymbols(ys, means);
    }, sink));
    yHat.close();
    return sink.result();
  }

  /** ŷ decoded from one y string, and the decoded symbols. */
  public record Decoded(NDArray yHat, CodedSymbols symbols) {}

  /**
   * Decodes ŷ [1,M,h,w] from one y string given the hyper parameters (official TACO.decompress).
   *
   * @throws EntropyCodingException if the string is damaged (including bytes left over after the last symbol)
   */
  public Decoded decompress(byte[] yString, NDArray hyper, int h, int w, NDManager manager) {
    RansDecoder decoder = new RansDecoder(yString);
    SymbolSink sink = new SymbolSink(h * w * latentChannels);
    NDArray yHat = slices(hyper, coding(manager, h, w,
        (slice, anchor, indexes, means) -> decoder.decodeStream(indexes, gaussianConditional.cdfTables()), sink));
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

  // ---------------------------------------------------------------------------------------------- parts

  /**
   * The checkerboard split of the official utils/ckbd.py. Anchors are the positions with (row + col) odd, decoded first
   * from the hyperprior (and channel context); non-anchors, (row + col) even, also see the anchors through the local
   * context. "Squeezed" form: [B,C,H,W/2], row r holding the row's W/2 positions of the given kind in column order — the
   * order in which symbols are entropy coded.
   */
  static final class Checkerboard {
    private Checkerboard() {}

    /** 1 at anchor positions ((row+col) odd), 0 elsewhere; shape [1,1,H,W]. */
    static NDArray anchorMask(NDManager m, long h, long w) {
      float[] data = new float[(int) (h * w)];
      for (int r = 0; r < h; r++) {
        for (int c = 0; c < w; c++) {
          data[(int) (r * w + c)] = ((r + c) & 1) == 1 ? 1f : 0f;
        }
      }
      return m.create(data, new Shape(1, 1, h, w));
    }

    /** ckbd_anchor: y at anchor positions, 0 elsewhere. */
    static NDArray anchor(NDArray y) {
      return y.mul(anchorMask(y.getManager(), y.getShape().get(2), y.getShape().get(3)));
    }

    /** ckbd_nonanchor: y at non-anchor positions, 0 elsewhere. */
    static NDArray nonAnchor(NDArray y) {
      NDArray mask = anchorMask(y.getManager(), y.getShape().get(2), y.getShape().get(3));
      return y.mul(mask.neg().add(1f));
    }

    /**
     * The squeezed form [B,C,H,W/2] of the anchor (or non-anchor) positions of x [B,C,H,W]: even rows hold their anchors
     * in the odd columns, odd rows in the even columns (non-anchors the other way round).
     */
    static NDArray squeeze(NDArray x, boolean anchor) {
      long[] s = x.getShape().getShape();
      int evenRowCol = anchor ? 1 : 0;
      NDArray evenRows = x.get(":, :, 0::2, " + evenRowCol + "::2");
      NDArray oddRows = x.get(":, :, 1::2, " + (1 - evenRowCol) + "::2");
      return evenRows.stack(oddRows, 3).reshape(s[0], s[1], s[2], s[3] / 2);
    }

    /**
     * {@link #squeeze} of the channel concatenation of {@code parts} (each [B,C_i,H,W]), written once into a
     * channels-last buffer: the same values as {@code squeeze(concat(parts, 1), anchor)} without the full-grid
     * concatenation, and laid out so a 1×1 convolution reads it as tokens without another copy. At 3840×2160 the last
     * slice's concatenation alone was 184 MB.
     */
    static NDArray squeezeConcat(NDList parts, boolean anchor) {
      NDArray first = parts.head();
      long[] s = first.getShape().getShape();
      long channels = 0;
      for (NDArray p : parts) {
        channels += p.getShape().get(1);
      }
      int evenRowCol = anchor ? 1 : 0;
      NDArray out;
      try (NDArray nhwc = first.getManager().create(new Shape(s[0], s[2], s[3] / 2, channels), first.getDataType())) {
        long c0 = 0;
        for (NDArray p : parts) {
          long c1 = c0 + p.getShape().get(1);
          try (NDArray even = p.get(":, :, 0::2, " + evenRowCol + "::2").transpose(0, 2, 3, 1);
              NDArray odd = p.get(":, :, 1::2, " + (1 - evenRowCol) + "::2").transpose(0, 2, 3, 1)) {
            nhwc.set(new NDIndex(":, 0::2, :, {}:{}", c0, c1), even);
            nhwc.set(new NDIndex(":, 1::2, :, {}:{}", c0, c1), odd);
          }
          c0 = c1;
        }
        out = nhwc.transpose(0, 3, 1, 2);
      }
      return out;
    }

    /** Flat offset (within one H×W plane) of the j-th squeezed element of row r. */
    static int position(boolean anchor, int r, int j, int w) {
      int col = 2 * j + (((r & 1) == 1) == anchor ? 0 : 1);
      return r * w + col;
    }

    /** Checks that the latent grid splits evenly into the two checkerboard halves. */
    static void requireEven(long h, long w) {
      if ((h & 1) != 0 || (w & 1) != 0) {
        throw new IllegalArgumentException("latent size " + h + "x" + w + " must be even (pad the image to a multiple of 64)");
      }
    }
  }

  /**
   * Channel context of slice i > 0 (official {@code ChannelContextEX}): the already decoded slices ŷ_{<i} → 2·C_i
   * channels through three 5×5 convolutions (widths 224 and 128 are fixed in the official code, whatever N and M).
   * Parameters {@code channel_context.<i>.fushion.{0,2,4}.*} (sic: "fushion" is the official spelling).
   */
  static final class ChannelContext {
    /** Hidden widths hard-coded in modules/transform/context.py. */
    private static final int HIDDEN1 = 224;

    private static final int HIDDEN2 = 128;

    private final Conv c0;
    private final Conv c2;
    private final Conv c4;

    ChannelContext(ParameterStore p, String prefix, int in, int out) {
      c0 = new Conv(p, prefix + ".fushion.0", in, HIDDEN1, 5, 1);
      c2 = new Conv(p, prefix + ".fushion.2", HIDDEN1, HIDDEN2, 5, 1);
      c4 = new Conv(p, prefix + ".fushion.4", HIDDEN2, out, 5, 1);
    }

    NDArray forward(NDArray decodedSlices) {
      NDArray x = Activation.relu(c0.forward(decodedSlices));
      x = Activation.relu(c2.forward(x));
      return c4.forward(x);
    }
  }

  /**
   * Entropy-parameter network (official {@code EntropyParametersEX}): three 1×1 convolutions in → 5·out/3 → 4·out/3 →
   * out (integer division as in Python), ReLU between; output = [scales | means] of one slice's anchor or non-anchor.
   * Parameters {@code <prefix>.fusion.{0,2,4}.*}.
   */
  static final class EntropyParameters {
    private final Conv c0;
    private final Conv c2;
    private final Conv c4;

    EntropyParameters(ParameterStore p, String prefix, int in, int out) {
      int h1 = out * 5 / 3;
      int h2 = out * 4 / 3;
      c0 = new Conv(p, prefix + ".fusion.0", in, h1, 1, 1);
      c2 = new Conv(p, prefix + ".fusion.2", h1, h2, 1, 1);
      c4 = new Conv(p, prefix + ".fusion.4", h2, out, 1, 1);
    }

    NDArray forward(NDArray x) {
      NDArray h = Activation.relu(c0.forward(x));
      h = Activation.relu(c2.forward(h));
      return c4.forward(h);
    }
  }
}
