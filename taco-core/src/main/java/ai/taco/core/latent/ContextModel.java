package ai.taco.core.latent;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.nn.Constants;
import ai.taco.core.nn.Conv;
import ai.taco.core.nn.InPlace;
import ai.taco.core.nn.NamedParameters;
import ai.taco.core.nn.Scoped;
import ai.taco.entropy.EntropyCodingException;
import ai.taco.entropy.RansDecoder;
import ai.taco.entropy.RansEncoder;
import java.nio.ByteBuffer;
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
 * <p>Training ({@link #forward}) runs the official full-grid slice loop ({@link #slices}). Coding ({@link #compress},
 * {@link #decompress}) runs the same networks per band of latent rows ({@link #code}), so its maps stay the size of a
 * band, and feeds the ONE rANS stream in the official order. The checkerboard split ({@link Checkerboard}) and the two per-slice networks ({@link
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
  public ContextModel(NamedParameters p, int m, List<Integer> slices, String scaleTable) {
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

  /** How one checkerboard half of one slice is quantized in the full-grid loop (training). */
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

  /**
   * Latent positions per band of the coding path. The networks of one slice run over a band of latent rows at a time
   * (with the rows their receptive fields need), so their maps are bounded by a band instead of growing with the
   * image: 2^15 positions is one band up to 4K (latent 240 × 135), 4 bands at 7680×4320, 13 at 100 megapixels. The
   * last slices' networks hold kilobytes per position (their concatenated inputs and 1×1 layers are hundreds of
   * channels wide): with 2^16 positions their transient maps made the 8K decoder's peak. Within a band the values
   * are those of the whole-image pass (ContextModelBandsTest: the same string), and encoder and decoder cut the same
   * bands.
   */
  static final int BAND_POSITIONS = 1 << 15;

  /** Latent positions per band of this model ({@link #BAND_POSITIONS}; smaller in tests, to cut small latents). */
  private int bandPositions = BAND_POSITIONS;

  /**
   * Below this many bytes a half's scales and means (or a slice of y) come to the Java heap in one copy, above it one
   * channel at a time. Each copy out of libtorch has a fixed cost; a Kodak-sized image made 1,900 of them per encode.
   * The per-channel copies exist for large images, whose whole-band arrays were heap garbage (25 MB each at 8K).
   */
  static final long WHOLE_COPY_BYTES = 4L << 20;

  /** {@link #WHOLE_COPY_BYTES} of this model (0 in tests: every copy per channel). */
  private long wholeCopyBytes = WHOLE_COPY_BYTES;

  /**
   * Most bytes of channel context kept from a slice's anchor pass for its non-anchor pass (the non-anchor positions of
   * 2·C_s channels, float32); above, the non-anchor pass computes it again, so that this memory stays bounded by a
   * constant, not the image. 7680×4320 keeps at most 100 MB (the last slice), 100 megapixels would keep 302 MB and
   * computes again instead.
   */
  static final long CONTEXT_CACHE_BYTES = 128L << 20;

  /** {@link #CONTEXT_CACHE_BYTES} of this model (0 in tests: always computed again). */
  private long contextCacheBytes = CONTEXT_CACHE_BYTES;

  /** Rows above and below a band that the channel context's three 5×5 convolutions read. */
  private static final int CHANNEL_HALO = 6;

  /** Rows above and below a band that the local context's 5×5 convolution reads. */
  private static final int LOCAL_HALO = 2;

  /**
   * The coded y symbols in coding order, as the container's checksum sees them: their CRC32C (little-endian int32s),
   * accumulated block by block, and (only when asked, for tests) the symbols and CDF indexes themselves.
   */
  public static final class SymbolLog {
    private final java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    private final boolean record;
    private java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate(0);
    private int[] symbols = new int[0];
    private int[] indexes = new int[0];
    private int count;

    private SymbolLog(boolean record) {
      this.record = record;
    }

    void add(int[] s, int[] idx, int n) {
      if (bytes.capacity() < 4 * n) {
        bytes = java.nio.ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
      }
      bytes.clear();
      bytes.asIntBuffer().put(s, 0, n);
      crc.update(bytes.array(), 0, 4 * n);
      if (record) {
        if (count + n > symbols.length) {
          int size = Math.max(count + n, 2 * symbols.length);
          symbols = java.util.Arrays.copyOf(symbols, size);
          indexes = java.util.Arrays.copyOf(indexes, size);
        }
        System.arraycopy(s, 0, symbols, count, n);
        System.arraycopy(idx, 0, indexes, count, n);
      }
      count += n;
    }

    /** CRC32C of the symbols as little-endian int32s in coding order (what {@code TacoFile} records). */
    public int crc() {
      return (int) crc.getValue();
    }

    /** Number of symbols coded. */
    public int count() {
      return count;
    }

    /** The symbols in coding order (only if recorded). */
    public int[] symbols() {
      requireRecorded();
      return java.util.Arrays.copyOf(symbols, count);
    }

    /** Their CDF indexes (only if recorded). */
    public int[] indexes() {
      requireRecorded();
      return java.util.Arrays.copyOf(indexes, count);
    }

    private void requireRecorded() {
      if (!record) {
        throw new IllegalStateException("symbols were not recorded (only their checksum)");
      }
    }
  }

  /** The coded y: ONE rANS string and its symbols' log. */
  public record Coded(byte[] yString, SymbolLog symbols) {}

  /** ŷ decoded from one y string, and the decoded symbols' log. */
  public record Decoded(NDArray yHat, SymbolLog symbols) {}

  /**
   * Codes y [1,M,h,w] into ONE rANS string in the official order (TACO.compress): slice 0 anchors, slice 0
   * non-anchors, slice 1 anchors, …, each block the squeezed [C_s,h,w/2] half channel by channel, row-major.
   *
   * <p>That order is why the rANS coder itself cannot run in bands: a block spans every row of the image, rANS codes
   * its symbols last to first, and the last block (the last slice's non-anchors) is known only once every slice before
   * it is coded over the whole image, so the coder buffers one step per symbol until the end (the decoder, reading
   * forwards, needs a whole block's CDF indexes before its first symbol). What is banded: the networks of each slice
   * (channel context, entropy parameters, local context) run per band of latent rows; a half's CDF indexes are kept
   * as bytes and its means inside ŷ's host array until the half is coded, channel by channel.
   *
   * @param record keep the symbols and indexes themselves, not only their checksum (tests)
   */
  public Coded compress(NDArray y, NDArray hyper, NDManager manager, boolean record) {
    int h = (int) y.getShape().get(2);
    int w = (int) y.getShape().get(3);
    Checkerboard.requireEven(h, w);
    SymbolLog log = new SymbolLog(record);
    RansEncoder encoder = new RansEncoder(latentChannels * h * w);
    // The host copy of y: the slice being coded when it is small, else the one channel being coded (a whole slice,
    // 192 channels, is 100 MB at 7680×4320: garbage the Java heap grew for).
    boolean wholeSlices = (long) Integer.BYTES * sliceChannels[sliceChannels.length - 1] * h * w <= wholeCopyBytes;
    float[][] ySlice = new float[1][];
    int[] ySliceIndex = {-1};
    code(hyper, manager, h, w, log, (slice, anchor, c, idx, hat) -> {
      float[] yValues;
      int offset;
      // The views taken here are freed with this scope, not at the end of the call.
      try (NDScope scope = new NDScope()) {
        if (wholeSlices) {
          if (ySliceIndex[0] != slice) {
            int start = sliceStart[slice];
            ySlice[0] = floats(y.get(":, " + start + ":" + (start + sliceChannels[slice])));
            ySliceIndex[0] = slice;
          }
          yValues = ySlice[0];
          offset = c * h * w;
        } else {
          yValues = floats(y.get(":, " + (sliceStart[slice] + c)));
          offset = 0;
        }
      }
      int[] symbols = new int[idx.length];
      int half = w / 2;
      int plane = (sliceStart[slice] + c) * h * w;
      for (int r = 0, k = 0; r < h; r++) {
        for (int j = 0; j < half; j++, k++) {
          int q = Checkerboard.position(anchor, r, j, w);
          // CompressAI quantize(y, "symbols", means): round half to even of y - means in float32.
          symbols[k] = (int) Math.rint(yValues[offset + q] - hat[plane + q]);
        }
      }
      encoder.encodeWithIndexes(symbols, idx, gaussianConditional.cdfTables());
      return symbols;
    });
    return new Coded(encoder.flush(), log);
  }

  /** {@link #compress(NDArray, NDArray, NDManager, boolean)} keeping only the symbols' checksum. */
  public Coded compress(NDArray y, NDArray hyper, NDManager manager) {
    return compress(y, hyper, manager, false);
  }

  /**
   * Decodes ŷ [1,M,h,w] from one y string given the hyper parameters (official TACO.decompress), in the bands of
   * {@link #compress}.
   *
   * @param record keep the symbols and indexes themselves, not only their checksum (tests)
   * @throws EntropyCodingException if the string is damaged (including bytes left over after the last symbol)
   */
  public Decoded decompress(byte[] yString, NDArray hyper, int h, int w, NDManager manager, boolean record) {
    return decompress(yString, hyper, h, w, manager, record, false);
  }

  /**
   * As {@link #decompress(byte[], NDArray, int, int, NDManager, boolean)}, closing {@code hyper} as soon as the
   * symbols are decoded, before ŷ is made: the hyper parameters (2M channels, 10 bytes per image pixel) beside ŷ's
   * host array and ŷ itself were the decoder's peak at 100 megapixels.
   */
  public Decoded decompressConsuming(byte[] yString, NDArray hyper, int h, int w, NDManager manager,
      boolean record) {
    return decompress(yString, hyper, h, w, manager, record, true);
  }

  private Decoded decompress(byte[] yString, NDArray hyper, int h, int w, NDManager manager, boolean record,
      boolean closeHyper) {
    Checkerboard.requireEven(h, w);
    RansDecoder decoder = new RansDecoder(yString);
    SymbolLog log = new SymbolLog(record);
    float[] hat = code(hyper, manager, h, w, log,
        (slice, anchor, c, idx, yHat) -> decoder.decodeStream(idx, gaussianConditional.cdfTables()));
    // A valid y string is used up exactly (the encoder's flushed state is read last); anything else means the
    // bytes were damaged, which the official .bin format would otherwise decode into a plausible-looking image.
    if (!decoder.isComplete()) {
      throw new EntropyCodingException("corrupt y string: its bytes do not end where the decoded symbols do");
    }
    if (closeHyper) {
      hyper.close();
    }
    return new Decoded(latents(manager, hat, latentChannels, h, w, TRANSFER_BYTES), log);
  }

  /** Bytes of ŷ moved to libtorch per copy ({@link #latents}). */
  static final int TRANSFER_BYTES = 16 << 20;

  /**
   * ŷ [1,channels,h,w] in libtorch's own memory, copied from its host array a few channels at a time through one
   * direct buffer. {@code manager.create(float[])} would wrap a direct buffer of ŷ's size instead (0.5 GB at 100
   * megapixels), which only the Java collector frees, whenever it next runs after ŷ is closed.
   */
  static NDArray latents(NDManager manager, float[] hat, int channels, int h, int w, long transferBytes) {
    int plane = h * w;
    int chunk = (int) Math.max(1, Math.min(channels, transferBytes / (4L * plane)));
    NDArray out = manager.create(new Shape(1, channels, h, w), DataType.FLOAT32);
    ByteBuffer buffer = ByteBuffer.allocateDirect(4 * chunk * plane).order(ByteOrder.nativeOrder());
    for (int c0 = 0; c0 < channels; c0 += chunk) {
      int n = Math.min(chunk, channels - c0);
      buffer.clear();
      buffer.asFloatBuffer().put(hat, c0 * plane, n * plane);
      buffer.limit(4 * n * plane);
      try (NDArray part = manager.create(buffer, new Shape(1, n, h, w), DataType.FLOAT32)) {
        out.set(new NDIndex(":, " + c0 + ":" + (c0 + n)), part); // a copy into out: the buffer is reused
      }
    }
    return out;
  }

  /** {@link #decompress(byte[], NDArray, int, int, NDManager, boolean)} keeping only the symbols' checksum. */
  public Decoded decompress(byte[] yString, NDArray hyper, int h, int w, NDManager manager) {
    return decompress(yString, hyper, h, w, manager, false);
  }

  /** Sets {@link #CONTEXT_CACHE_BYTES} for this model (tests: 0 computes every channel context twice). */
  void contextCacheBytes(long bytes) {
    contextCacheBytes = bytes;
  }

  /** Sets the largest copy to the Java heap made whole (tests: 0 makes every copy per channel). */
  void wholeCopyBytes(long bytes) {
    wholeCopyBytes = bytes;
  }

  /** Sets the band size (tests: several bands over a small latent). */
  void bandPositions(int positions) {
    bandPositions = positions;
  }

  /** Gives the symbols of one channel of one squeezed half: quantization (encoder) or rANS decoding (decoder). */
  private interface ChannelCoder {
    /**
     * @param indexes the channel's CDF indexes, squeezed row-major
     * @param hat ŷ's host array [M,h,w], holding the means at this half's positions of the channel
     * @return the symbols, in the order of {@code indexes}
     */
    int[] symbols(int slice, boolean anchor, int channel, int[] indexes, float[] hat);
  }

  /**
   * The coding slice loop: per slice, the anchor half then the non-anchor half, each as (1) its networks band by band,
   * writing the CDF indexes (bytes) and the means (into ŷ's host array), then (2) its symbols channel by channel in
   * stream order, turning the means into ŷ = symbol + mean. Returns ŷ's host array [M,h,w].
   */
  private float[] code(NDArray hyper, NDManager manager, int h, int w, SymbolLog log, ChannelCoder coder) {
    float[] hat = new float[latentChannels * h * w];
    int bandRows = Math.max(2, Math.min(h, (bandPositions / w) & ~1));
    int half = w / 2;
    for (int s = 0; s < sliceChannels.length; s++) {
      int ch = sliceChannels[s];
      byte[] indexes = new byte[ch * h * half];
      // The channel context reads only the slices before, so each band's, computed for the anchors, serves the
      // non-anchors too: kept (squeezed to the non-anchor positions, half a slice's parameters) until their pass,
      // when that fits CONTEXT_CACHE_BYTES (null: computed again).
      boolean keep = (long) Float.BYTES * 2 * ch * h * half <= contextCacheBytes;
      NDArray[] cachedContext = keep ? new NDArray[(h + bandRows - 1) / bandRows] : null;
      for (boolean anchor : new boolean[] {true, false}) {
        for (int r0 = 0, b = 0; r0 < h; r0 += bandRows, b++) {
          int r1 = Math.min(h, r0 + bandRows);
          band(hyper, manager, hat, indexes, s, anchor, r0, r1, h, w, cachedContext, b);
        }
        int[] idx = new int[h * half];
        for (int c = 0; c < ch; c++) {
          for (int k = 0; k < idx.length; k++) {
            idx[k] = indexes[c * idx.length + k];
          }
          int[] symbols = coder.symbols(s, anchor, c, idx, hat);
          log.add(symbols, idx, symbols.length);
          int plane = (sliceStart[s] + c) * h * w;
          for (int r = 0, k = 0; r < h; r++) {
            for (int j = 0; j < half; j++, k++) {
              int p = plane + Checkerboard.position(anchor, r, j, w);
              hat[p] = (float) symbols[k] + hat[p]; // symbols + means in float32 (GaussianConditional.dequantize)
            }
          }
        }
      }
      if (cachedContext != null) {
        for (NDArray c : cachedContext) {
          if (c != null) {
            c.close(); // normally freed by its non-anchor band already
          }
        }
      }
    }
    return hat;
  }

  /**
   * The networks of one half of slice {@code s} over latent rows [r0, r1): channel context (from ŷ of the slices
   * before), for the non-anchors also the local context of the decoded anchors, and the entropy parameters on the
   * squeezed half; writes the half's CDF indexes into {@code indexes} and its means into {@code hat}. The anchor pass
   * leaves the band's channel context, squeezed to the non-anchor positions, in {@code cachedContext[slot]}; the
   * non-anchor pass uses and frees it. {@code cachedContext} null: nothing is kept, each pass computes its own.
   */
  private void band(NDArray hyper, NDManager manager, float[] hat, byte[] indexes, int s, boolean anchor, int r0,
      int r1, int h, int w, NDArray[] cachedContext, int slot) {
    int ch = sliceChannels[s];
    int half = w / 2;
    try (NDScope scope = new NDScope()) {
      NDArray hyperBand = r0 == 0 && r1 == h ? hyper : hyper.get(":, :, " + r0 + ":" + r1 + ", :");
      NDArray channelCtx = null;
      boolean squeezedCtx = false;
      if (s > 0) {
        if (cachedContext != null && cachedContext[slot] != null) {
          channelCtx = cachedContext[slot];
          cachedContext[slot] = null;
          NDScope.register(channelCtx); // freed with this band
          squeezedCtx = true;
        } else {
          int a = Math.max(0, r0 - CHANNEL_HALO);
          int b = Math.min(h, r1 + CHANNEL_HALO);
          NDArray decoded = rows(manager, hat, 0, sliceStart[s], h, w, a, b, null);
          NDArray ctx = Scoped.step(() -> channelContext[s].forward(decoded));
          channelCtx = a == r0 && b == r1 ? ctx : ctx.get(":, :, " + (r0 - a) + ":" + (r1 - a) + ", :");
          if (anchor && cachedContext != null) {
            // Kept past this scope for the non-anchor pass (r0 is even: the band's rows keep their parity).
            NDArray kept = Checkerboard.squeeze(channelCtx, false);
            NDScope.unregister(kept);
            cachedContext[slot] = kept;
          }
        }
      }
      NDList parts = new NDList();
      boolean[] squeezed = new boolean[3];
      if (!anchor) {
        int a = Math.max(0, r0 - LOCAL_HALO);
        int b = Math.min(h, r1 + LOCAL_HALO);
        NDArray anchors = rows(manager, hat, sliceStart[s], ch, h, w, a, b, Boolean.TRUE);
        NDArray local = Scoped.step(() -> localContext[s].forward(anchors));
        parts.add(a == r0 && b == r1 ? local : local.get(":, :, " + (r0 - a) + ":" + (r1 - a) + ", :"));
      }
      if (channelCtx != null) {
        squeezed[parts.size()] = squeezedCtx;
        parts.add(channelCtx);
      }
      parts.add(hyperBand);
      EntropyParameters net = anchor ? anchorParams[s] : nonAnchorParams[s];
      // The entropy-parameter networks are per-pixel (1×1 convolutions), so evaluating them on the squeezed half the
      // coder needs gives the same values as the official full-grid evaluation at half the cost.
      NDList p = Scoped.step(() -> net.forward(Checkerboard.squeezeConcat(parts, squeezed, anchor))).split(2, 1);
      int positions = (r1 - r0) * half;
      // A small band's scales and means in one copy each; a large band's one channel at a time (WHOLE_COPY_BYTES).
      boolean whole = (long) Float.BYTES * ch * positions <= wholeCopyBytes;
      float[] allMeans = whole ? floats(p.get(1)) : null;
      int[] allIndexes = whole ? gaussianConditional.buildIndexes(floats(p.get(0))) : null;
      for (int c = 0; c < ch; c++) {
        float[] means = whole ? allMeans : floats(p.get(1).get(":, " + c));
        int[] channelIndexes = whole ? allIndexes : gaussianConditional.buildIndexes(floats(p.get(0).get(":, " + c)));
        int offset = whole ? c * positions : 0;
        int plane = (sliceStart[s] + c) * h * w;
        for (int r = r0, k = offset; r < r1; r++) {
          for (int j = 0; j < half; j++, k++) {
            indexes[(c * h + r) * half + j] = (byte) channelIndexes[k];
            hat[plane + Checkerboard.position(anchor, r, j, w)] = means[k];
          }
        }
      }
    }
  }

  /**
   * Channels [c0, c0+n) of ŷ's host array, rows [a, b), as a [1,n,b-a,w] array; {@code anchorsOnly} TRUE keeps only
   * anchor positions (zeros elsewhere: the non-anchor positions may already hold means).
   */
  private static NDArray rows(NDManager manager, float[] hat, int c0, int n, int h, int w, int a, int b,
      Boolean anchorsOnly) {
    int rows = b - a;
    float[] out = new float[n * rows * w];
    for (int c = 0; c < n; c++) {
      int src = ((c0 + c) * h + a) * w;
      int dst = c * rows * w;
      if (anchorsOnly == null) {
        System.arraycopy(hat, src, out, dst, rows * w);
      } else {
        for (int r = a; r < b; r++) {
          for (int j = 0; j < w / 2; j++) {
            int p = Checkerboard.position(true, r, j, w);
            out[dst + p - a * w] = hat[(c0 + c) * h * w + p];
          }
        }
      }
    }
    return manager.create(out, new Shape(1, n, rows, w));
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
      return Constants.of(m, data, new Shape(1, 1, h, w)); // mul saves it for backward: libtorch-owned (Constants)
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
      return squeezeConcat(parts, new boolean[parts.size()], anchor);
    }

    /** As {@link #squeezeConcat(NDList, boolean)}, the parts marked in {@code squeezed} given already squeezed. */
    static NDArray squeezeConcat(NDList parts, boolean[] squeezed, boolean anchor) {
      NDArray first = parts.head();
      long[] s = first.getShape().getShape();
      long half = squeezed[0] ? s[3] : s[3] / 2;
      long channels = 0;
      for (NDArray p : parts) {
        channels += p.getShape().get(1);
      }
      int evenRowCol = anchor ? 1 : 0;
      NDArray out;
      try (NDArray nhwc = first.getManager().create(new Shape(s[0], s[2], half, channels), first.getDataType())) {
        long c0 = 0;
        for (int i = 0; i < parts.size(); i++) {
          NDArray p = parts.get(i);
          long c1 = c0 + p.getShape().get(1);
          if (squeezed[i]) {
            try (NDArray t = p.transpose(0, 2, 3, 1)) {
              nhwc.set(new NDIndex(":, :, :, {}:{}", c0, c1), t);
            }
          } else {
            try (NDArray even = p.get(":, :, 0::2, " + evenRowCol + "::2").transpose(0, 2, 3, 1);
                NDArray odd = p.get(":, :, 1::2, " + (1 - evenRowCol) + "::2").transpose(0, 2, 3, 1)) {
              nhwc.set(new NDIndex(":, 0::2, :, {}:{}", c0, c1), even);
              nhwc.set(new NDIndex(":, 1::2, :, {}:{}", c0, c1), odd);
            }
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

    ChannelContext(NamedParameters p, String prefix, int in, int out) {
      c0 = new Conv(p, prefix + ".fushion.0", in, HIDDEN1, 5, 1);
      c2 = new Conv(p, prefix + ".fushion.2", HIDDEN1, HIDDEN2, 5, 1);
      c4 = new Conv(p, prefix + ".fushion.4", HIDDEN2, out, 5, 1);
    }

    NDArray forward(NDArray decodedSlices) {
      NDArray x = InPlace.relu(c0.forward(decodedSlices));
      NDArray h = InPlace.relu(c2.forward(x));
      x.close();
      return c4.forward(h);
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

    EntropyParameters(NamedParameters p, String prefix, int in, int out) {
      int h1 = out * 5 / 3;
      int h2 = out * 4 / 3;
      c0 = new Conv(p, prefix + ".fusion.0", in, h1, 1, 1);
      c2 = new Conv(p, prefix + ".fusion.2", h1, h2, 1, 1);
      c4 = new Conv(p, prefix + ".fusion.4", h2, out, 1, 1);
    }

    NDArray forward(NDArray x) {
      NDArray h = InPlace.relu(c0.forward(x));
      NDArray h2 = InPlace.relu(c2.forward(h));
      h.close();
      return c4.forward(h2);
    }
  }
}
