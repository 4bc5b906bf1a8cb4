package ai.taco.core;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.modality.cv.Image;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.taco.core.bitstream.CodedImage;
import ai.taco.core.bitstream.CompressAiFile;
import ai.taco.core.bitstream.TacoFile;
import ai.taco.core.error.BitstreamException;
import ai.taco.core.error.ImageException;
import ai.taco.core.error.TacoException;
import ai.taco.core.error.WeightsException;
import ai.taco.core.image.Images;
import ai.taco.core.bitstream.ScaleTable;
import ai.taco.core.nn.LibTorch;
import ai.taco.core.nn.ReducedPrecision;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.tensor.Precision;
import ai.taco.core.transform.TiledAnalysis;
import ai.taco.core.weights.StateDict;
import ai.taco.entropy.EntropyCodingException;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * TACO image codec: build it once from the weights, then {@link #compress} images (with their caption features) and
 * {@link #decompress} them (no caption needed) from any number of threads. Bitstreams are those of the official TACO
 * code (CompressAI 1.2.6), in TACO-J's checked {@link TacoFile} container or the official {@code .bin} layout ({@link
 * CompressAiFile}); {@link #decompress} takes either.
 *
 * <pre>{@code
 * try (TacoCodec codec = TacoCodec.builder().setWeights(Path.of("taco.pth.tar")).build()) {
 *   TacoFile file = codec.compress(ImageIO.read(new File("kodim01.png")), caption);   // caption features [1,38,512]
 *   BufferedImage decoded = Images.toBufferedImage(codec.decompress(file));
 * }
 * }</pre>
 *
 * <p>The architecture is read from the weights' shapes unless given ({@link Builder#optConfig}). Images of any size are
 * padded right/bottom with zeros to a multiple of 64 (as the official evaluation does) and the reconstruction is
 * cropped back. Thread-safe: each call works in its own {@link NDManager}, a sub-manager of the codec's (released when
 * the call returns), and an {@link NDScope} on the codec's device; the parameters live in the codec's manager, released
 * by {@link #close()}.
 */
public final class TacoCodec implements AutoCloseable {
  /** gA and hA downsample by 2^6 in total: inputs are padded to this multiple. */
  public static final int PAD_MULTIPLE = 64;

  private volatile boolean closed;
  /**
   * Largest padded image accepted (2^28 pixels, e.g. 16384×16384): bounds the memory a forged header can make the
   * decoder allocate.
   */
  static final long MAX_PIXELS = 1L << 28;

  /** Largest 8-bit sample: a UINT8 image's values are {@code v / 255}. */
  private static final float UINT8_MAX = 255f;

  private final Device device;
  private final Tiling tiling;
  private final Precision precision;
  private final NDManager manager;
  private final TacoModel model;
  private final byte[] fingerprint;
  /** Limit on an image's W×H, encoding and decoding (0: none; {@link Builder#optMaxPixels}). */
  private final long maxPixels;
  // Hardening: close() waits for running calls; native memory reserved per call before allocating.
  private final CallGate gate = new CallGate();
  private final MemoryBudget budget = MemoryBudget.shared();

  private TacoCodec(
      Device device, Tiling tiling, Precision precision, long maxPixels, NDManager manager, TacoModel model,
      byte[] fingerprint) {
    this.device = device;
    this.maxPixels = maxPixels;
    this.tiling = tiling;
    this.precision = precision;
    this.manager = manager;
    this.model = model;
    this.fingerprint = fingerprint;
    model.update();
    model.freeze();
  }

  /** A builder: {@code setWeights} is required, everything else optional. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Builds a {@link TacoCodec} in DJL's set/opt style: {@code TacoCodec.builder().setWeights(path)
   * .optDevice(Device.gpu()).optScaleTable(ScaleTable.TORCH2).build()}.
   */
  public static final class Builder {
    private Path weightsFile;
    private Map<String, HostTensor> stateDict;
    private Long randomSeed;
    private TacoConfig config;
    private ScaleTable scaleTable = ScaleTable.defaultTable();
    private Device device;
    private Tiling tiling = Tiling.DEFAULT;
    private NDManager parent;
    private Precision precision = Precision.FP32;
    private long maxPixels = Images.DEFAULT_MAX_PIXELS;

    private Builder() {}

    /**
     * The codec's manager becomes a sub-manager of {@code manager} (closed with it) instead of a new base manager: a
     * DJL model's, when the codec is its block (TacoTranslatorFactory).
     */
    Builder parentManager(NDManager manager) {
      parent = Objects.requireNonNull(manager, "manager");
      return this;
    }

    /** Official weights: {@code .pth}/{@code .pth.tar} (with or without {@code module.}) or safetensors. */
    public Builder setWeights(Path file) {
      weightsFile = Objects.requireNonNull(file, "file");
      stateDict = null;
      randomSeed = null;
      return this;
    }

    /** Weights already in memory, under the official state-dict keys (e.g. {@link TacoModel#stateDict()}). */
    public Builder setWeights(Map<String, HostTensor> weights) {
      stateDict = Objects.requireNonNull(weights, "weights");
      weightsFile = null;
      randomSeed = null;
      return this;
    }

    /**
     * Randomly initialised weights (benchmarks and tests; reconstructions are meaningless). Needs {@link #optConfig}.
     */
    public Builder setRandomWeights(long seed) {
      randomSeed = seed;
      weightsFile = null;
      stateDict = null;
      return this;
    }

    /** The architecture; by default it is inferred from the weights' shapes ({@link TacoConfig#infer}). */
    public Builder optConfig(TacoConfig c) {
      config = Objects.requireNonNull(c, "config");
      return this;
    }

    /** The Gaussian scale-table variant ({@link ScaleTable#defaultTable()} by default; a TacoFile records it). */
    public Builder optScaleTable(ScaleTable table) {
      scaleTable = Objects.requireNonNull(table, "table");
      return this;
    }

    /** Where the networks run; by default DJL's default device (a GPU when one is present, the CPU otherwise). */
    public Builder optDevice(Device d) {
      device = Objects.requireNonNull(d, "device");
      return this;
    }

    /**
     * How gA and gS are run over large images ({@link Tiling#DEFAULT}; {@link Tiling#NONE}: whole images). The
     * bitstream does not depend on it beyond float rounding and records none of it, so encoder and decoder choose
     * independently.
     */
    public Builder optTiling(Tiling t) {
      tiling = Objects.requireNonNull(t, "tiling");
      return this;
    }

    /**
     * The arithmetic of gA and gS ({@link Precision#FP32} by default: the official bitstreams). With {@link
     * Precision#BF16} their convolutions run in bfloat16; hA, hS and the context model stay
     * float32, so files stay decodable by every decoder and decode to nearly the same pixels (docs/performance.md).
     */
    public Builder optPrecision(Precision p) {
      precision = Objects.requireNonNull(p, "precision");
      return this;
    }

    /**
     * The largest W×H the codec encodes or decodes ({@link Images#DEFAULT_MAX_PIXELS}, Pillow's decompression-bomb
     * threshold, by default; 0: no limit beyond {@link TacoCodec#MAX_PIXELS}). A larger image, or a file declaring
     * one, is refused before anything is allocated.
     */
    public Builder optMaxPixels(long pixels) {
      if (pixels < 0) {
        throw new IllegalArgumentException("maxPixels must be >= 0 (0: no limit), got " + pixels);
      }
      maxPixels = pixels;
      return this;
    }

    /**
     * Loads the weights and prepares the entropy models.
     *
     * @throws WeightsException if the weights cannot be read, fit no TACO layout, or do not fit the given config
     * @throws IllegalStateException if no weights were set, or random weights without a config
     */
    public TacoCodec build() {
      // The one-time libtorch setup (LibTorch: environment defaults, engine start, NNPACK off), before anything starts
      // the engine; later builds change no process state.
      LibTorch.setUpOnce();
      Device d = device != null ? device : Engine.getInstance().defaultDevice();
      String slow = ReducedPrecision.cpuWarning(precision, d);
      if (slow != null) {
        org.slf4j.LoggerFactory.getLogger(TacoCodec.class).warn(slow);
      }
      if (randomSeed != null) {
        if (config == null) {
          throw new IllegalStateException("random weights need optConfig(...)");
        }
        NDManager m = parent != null ? parent.newSubManager(d) : NDManager.newBaseManager(d);
        try {
          TacoModel model = TacoModel.create(config, m, randomSeed);
          return new TacoCodec(d, tiling, precision, maxPixels, m, model, Checksums.fingerprint(model.stateDict()));
        } catch (RuntimeException e) {
          m.close();
          throw e;
        }
      }
      Map<String, HostTensor> weights = weightsFile != null ? StateDict.load(weightsFile) : stateDict;
      if (weights == null) {
        throw new IllegalStateException("no weights: call setWeights(...) or setRandomWeights(...)");
      }
      if (weightsFile == null) {
        StateDict.requireFinite(weights, "weights"); // files are checked as they load
      }
      TacoConfig c = config != null ? config : TacoConfig.infer(weights);
      NDManager m = parent != null ? parent.newSubManager(d) : NDManager.newBaseManager(d);
      try {
        TacoModel model = TacoModel.load(weights, c, m, scaleTable);
        return new TacoCodec(d, tiling, precision, maxPixels, m, model, Checksums.fingerprint(model.stateDict()));
      } catch (RuntimeException e) {
        m.close();
        throw e;
      }
    }
  }

  public TacoConfig config() {
    return model.config();
  }

  public ScaleTable scaleTable() {
    return model.scaleTable();
  }

  /** The device the networks run on. */
  public Device device() {
    return device;
  }

  /** How gA and gS run over large images (see {@link Builder#optTiling}). */
  public Tiling tiling() {
    return tiling;
  }

  /** The arithmetic of gA and gS (see {@link Builder#optPrecision}). */
  public Precision precision() {
    return precision;
  }

  /** Fingerprint of the loaded weights, as recorded in {@link TacoFile}. */
  public byte[] weightsFingerprint() {
    return fingerprint.clone();
  }

  /**
   * The two rANS strings of one image with what a decoder needs: original size, latent size and checksums of the
   * coded symbols (zero for an official {@code .bin}, which has none).
   */
  record Encoded(
      int height, int width, int zHeight, int zWidth, byte[] zString, byte[] yString, int zSymbolsCrc, int ySymbolsCrc) {}

  /**
   * Compresses one image into a {@link TacoFile}.
   *
   * @param image float [1,3,H,W] or [3,H,W], values in [0,1] (see {@link Images#read(Path)}), or UINT8 with values
   *     0..255 taken as {@code v / 255} (see {@link Images#readCompact(Path)}: a quarter of the memory, same bitstream)
   * @param caption caption features [T,textDim] or [1,T,textDim] (CLIP text encoder output, e.g. {@link
   *     CaptionEncoder#encodeTensor})
   */
  public TacoFile compress(HostTensor image, HostTensor caption) {
    return (TacoFile) compress(image, caption, EncodeOptions.DEFAULT);
  }

  /** {@link #compress(HostTensor, HostTensor)} of an AWT image (8- or 16-bit RGB or gray; alpha is dropped). */
  public TacoFile compress(BufferedImage image, HostTensor caption) {
    return compress(Images.fromBufferedImage(image), caption);
  }

  /** {@link #compress(HostTensor, HostTensor)} of a DJL image. */
  public TacoFile compress(Image image, HostTensor caption) {
    return compress(Images.fromImage(image), caption);
  }

  /**
   * Compresses one image (float in [0,1] or UINT8, as {@link #compress(HostTensor, HostTensor)} takes it) into the
   * file kind of {@code options} ({@link TacoFile} or the official {@link CompressAiFile}), reporting stages to its
   * listener.
   */
  public CodedImage compress(HostTensor image, HostTensor caption, EncodeOptions options) {
    Encoded e = encode(image, caption, options.listener());
    return switch (options.format()) {
      case TACO -> new TacoFile(scaleTable(), fingerprint, e.height(), e.width(), e.zHeight(), e.zWidth(),
          e.zSymbolsCrc(), e.ySymbolsCrc(), e.zString(), e.yString());
      case COMPRESSAI -> CompressAiFile.of(e.height(), e.width(), e.zHeight(), e.zWidth(), e.yString(), e.zString());
    };
  }

  /**
   * Decodes either file kind to float [1,3,H,W] in [0,1]; no caption needed. A {@link TacoFile} is refused if it was
   * coded with other weights or another scale table, or if its symbols decode differently (checked before gS runs).
   *
   * @throws BitstreamException on a corrupt, truncated or foreign file
   */
  public HostTensor decompress(CodedImage file) {
    return decompress(file, DecodeOptions.DEFAULT);
  }

  /**
   * As {@link #decompress(CodedImage)}, clamped or not and reporting stages as {@code options} say. The image is
   * assembled in host memory band by band, as {@link #decompress(CodedImage, DecodeOptions, Consumer)} gives them: the
   * whole image exists once, in the returned tensor.
   */
  public HostTensor decompress(CodedImage file, DecodeOptions options) {
    Objects.requireNonNull(file, "file");
    HostBands out = HostBands.whole(file.height(), file.width(), options.clamp());
    decode(file, options, out);
    return out.image();
  }

  /**
   * Decodes either file kind as {@link #decompress(CodedImage, DecodeOptions)} does, handing the image to {@code bands}
   * in horizontal bands instead of returning it: float [3,rows,W] tensors (the same values as the rows of {@link
   * #decompress(CodedImage, DecodeOptions)}), top to bottom, at least one row each, their rows adding up to the file's
   * {@link CodedImage#height()}. Memory then follows the tiling ({@link Builder#optTiling}): one band is a row of
   * tiles; an image within one sub-tile comes as a single band. Each band is a new tensor the consumer may keep.
   *
   * <p>The file's checks (weights, scale table, symbol checksums) all happen before the first band. A band found
   * broken later (non-finite values: broken weights) ends the call with an exception after the earlier bands were
   * delivered, so a consumer writing a file must be able to discard it (e.g. {@link
   * ai.taco.core.image.Images#writePngRows(java.nio.file.Path, boolean, int, int, Consumer)}). An exception thrown by
   * {@code bands} ends the call and propagates as is. {@code bands} runs on the calling thread, inside the call: it
   * must not use this codec.
   *
   * @throws BitstreamException on a corrupt, truncated or foreign file
   */
  public void decompress(CodedImage file, DecodeOptions options, Consumer<HostTensor> bands) {
    Objects.requireNonNull(file, "file");
    HostBands out = HostBands.streaming(file.height(), file.width(), options.clamp(), bands);
    decode(file, options, out);
    out.requireComplete();
  }

  private void decode(CodedImage file, DecodeOptions options, HostBands out) {
    if (file instanceof TacoFile t) {
      decode(encoded(t), true, options.listener(), out);
    } else {
      decode(encoded((CompressAiFile) file), false, options.listener(), out);
    }
  }

  private Encoded encoded(TacoFile file) {
    file.requireFingerprint(fingerprint);
    if (file.scaleTable() != scaleTable()) {
      throw new BitstreamException(
          "file was coded with the " + file.scaleTable().id() + " scale table, this codec uses " + scaleTable().id());
    }
    return new Encoded(file.height(), file.width(), file.zHeight(), file.zWidth(), file.zString(), file.yString(),
        file.zSymbolsCrc(), file.ySymbolsCrc());
  }

  private static Encoded encoded(CompressAiFile file) {
    List<byte[]> s = file.strings();
    if (s.size() != 2) {
      throw new BitstreamException("a TACO .bin holds 2 strings (y, z), this one has " + s.size());
    }
    return new Encoded(file.height(), file.width(), file.zHeight(), file.zWidth(), s.get(1), s.get(0), 0, 0);
  }

  /** Encoder; {@code listener} gets the stage timing (benchmark). */
  Encoded encode(HostTensor image, HostTensor text, StageListener listener) {
    long[] is = image.shape();
    double pixels = is.length < 2 ? 0 : MemoryBudget.paddedPixels(is[is.length - 2], is[is.length - 1], PAD_MULTIPLE);
    String what = "encoding a " + (is.length < 2 ? "?" : is[is.length - 2] + "x" + is[is.length - 1]) + " image";
    if (is.length >= 2) {
      Images.requireWithinLimit("image", is[is.length - 1], is[is.length - 2], maxPixels);
    }
    try (CallGate.Call call = gate.enter("this TacoCodec");
        MemoryBudget.Reservation r = budget.reserve(MemoryBudget.estimate(config(), pixels, tiling), what);
        NoGrad g = new NoGrad()) {
      return NativeMemory.mapAllocationFailures(what, () -> encodeUnguarded(image, text, listener));
    }
  }

  private Encoded encodeUnguarded(HostTensor image, HostTensor text, StageListener listener) {
    ensureOpen();
    long[] is = image.shape();
    long[] ts = text.shape();
    if (!(is.length == 4 && is[0] == 1 && is[1] == 3) && !(is.length == 3 && is[0] == 3)) {
      throw new ImageException("expected an RGB image [1,3,H,W] or [3,H,W], got " + Arrays.toString(is));
    }
    int textDim = config().textDim();
    if (!(ts.length == 2 && ts[1] == textDim) && !(ts.length == 3 && ts[0] == 1 && ts[2] == textDim)) {
      throw new TacoException(
          "expected caption features [T," + textDim + "] or [1,T," + textDim + "], got " + Arrays.toString(ts));
    }
    long tokens = ts[ts.length - 2];
    if (tokens < 1) {
      throw new TacoException("caption features hold no tokens");
    }
    int h = (int) is[is.length - 2];
    int w = (int) is[is.length - 1];
    if (h < 1 || w < 1) {
      throw new ImageException("empty image " + h + "x" + w);
    }
    long padded = (long) ((h + PAD_MULTIPLE - 1) / PAD_MULTIPLE) * ((w + PAD_MULTIPLE - 1) / PAD_MULTIPLE) * PAD_MULTIPLE * PAD_MULTIPLE;
    if (padded > MAX_PIXELS) {
      throw new ImageException("image of " + h + "x" + w + " is too large (max " + MAX_PIXELS + " pixels)");
    }
    InputChecks.requireImage(image);
    InputChecks.requireCaption(text);
    int paddedH = (h + PAD_MULTIPLE - 1) / PAD_MULTIPLE * PAD_MULTIPLE;
    int paddedW = (w + PAD_MULTIPLE - 1) / PAD_MULTIPLE * PAD_MULTIPLE;
    try (NDManager m = manager.newSubManager(device);
        NDScope scope = new NDScope()) {
      NDArray t = text.toNDArray(m).toType(DataType.FLOAT32, false).reshape(1, tokens, textDim);
      if (!tiling.covers(paddedH, paddedW)) {
        // Tiled: gA converts and pads one crop at a time from the host image, so neither a whole float32 copy nor a
        // padded one exists (at 7680×4320, 400 MB each). Per element the same conversion and the same zeros as below.
        TiledAnalysis.Input crops = paddedCrops(image, paddedH, paddedW, m);
        TacoModel.Compressed c;
        try (ReducedPrecision.Scope p = ReducedPrecision.request(precision)) {
          c = model.compress(crops, t, listener, tiling);
        }
        return encoded(h, w, c, listener);
      }
      NDArray typed = toFloatImage(image, m);
      NDArray x = typed.reshape(1, 3, h, w);
      NDArray xPadded = Images.pad(x, PAD_MULTIPLE);
      if (xPadded != x) {
        // The padded copy owns its memory, so the unpadded arrays can go now (at 3840×2160 each is 100 MB the
        // context stage would otherwise carry); TacoModel.compress frees the padded one once gA has run. Not when
        // unpadded: x may then be a view of host-buffer memory that only `typed` keeps alive (docs/djl-traps.md).
        for (NDArray a : new NDArray[] {x, typed}) {
          if (!a.isReleased()) {
            a.close();
          }
        }
      }
      TacoModel.Compressed c;
      try (ReducedPrecision.Scope p = ReducedPrecision.request(precision)) {
        c = model.compress(xPadded, t, listener, tiling);
      }
      return encoded(h, w, c, listener);
    }
  }

  private static Encoded encoded(int h, int w, TacoModel.Compressed c, StageListener listener) {
    listener.stage("done");
    TacoModel.Strings s = c.strings();
    return new Encoded(h, w, s.zHeight(), s.zWidth(), s.zString(), s.yString(),
        Checksums.symbols(c.zSymbols()), c.ySymbols().crc());
  }

  /**
   * The image [1,3,h,w] or [3,h,w] zero-padded at the bottom and right to {@code paddedH × paddedW}, as gA's input read
   * crop by crop: each crop is cut from the host image and converted by {@link #toFloatImage}, so it holds the values
   * of the same crop of {@code Images.pad(toFloatImage(image))} (the conversion is per element; padding is zeros, and
   * zero converts to zero) without that whole copy.
   */
  static TiledAnalysis.Input paddedCrops(HostTensor image, int paddedH, int paddedW, NDManager m) {
    return new TiledAnalysis.Input() {
      @Override
      public int height() {
        return paddedH;
      }

      @Override
      public int width() {
        return paddedW;
      }

      @Override
      public NDArray crop(int rowLo, int rowHi, int colLo, int colHi) {
        return toFloatImage(image.window(rowLo, rowHi, colLo, colHi), m).reshape(1, 3, rowHi - rowLo, colHi - colLo);
      }
    };
  }

  /**
   * The image as float32 in [0, 1]: UINT8 samples (as {@link Images#readCompact} gives them) converted and divided by
   * 255 in libtorch, which rounds the quotient as Java's {@code v / 255f} does ({@link Images#read} computes that), so
   * both give the same floats and the same bitstream; other types converted as they are.
   */
  static NDArray toFloatImage(HostTensor image, NDManager m) {
    NDArray raw = image.toNDArray(m);
    NDArray x = raw.toType(DataType.FLOAT32, false);
    if (x != raw) {
      // toType to another type made a libtorch-owned copy: the host-backed array can go now (docs/djl-traps.md: only
      // an array whose memory libtorch owns may be closed while something derived from it lives).
      raw.close();
    }
    return image.dataType() == DataType.UINT8 ? x.divi(UINT8_MAX) : x;
  }

  /**
   * Decoder; with {@code verify}, symbol checksums are compared before the synthesis transform runs; the
   * reconstruction goes to {@code out} band by band (cropped, and clamped if it says so, there).
   */
  void decode(Encoded e, boolean verify, StageListener listener, HostBands out) {
    double pixels = (double) e.zHeight() * PAD_MULTIPLE * e.zWidth() * PAD_MULTIPLE;
    String what = "decoding a " + e.height() + "x" + e.width() + " image (latent " + e.zHeight() + "x" + e.zWidth() + ")";
    Images.requireWithinLimit("coded image", e.width(), e.height(), maxPixels);
    try (CallGate.Call call = gate.enter("this TacoCodec");
        MemoryBudget.Reservation r = budget.reserve(MemoryBudget.estimate(config(), pixels, tiling), what);
        NoGrad g = new NoGrad()) {
      NativeMemory.mapAllocationFailures(what, () -> {
        decodeUnguarded(e, verify, listener, out);
        return null;
      });
    }
  }

  private void decodeUnguarded(Encoded e, boolean verify, StageListener listener, HostBands out) {
    ensureOpen();
    int zh = e.zHeight();
    int zw = e.zWidth();
    // Official layout: z is the image padded to a multiple of 64, downsampled 64 times.
    if ((long) zh * PAD_MULTIPLE < e.height() || (long) zw * PAD_MULTIPLE < e.width()
        || (long) (zh - 1) * PAD_MULTIPLE >= e.height() || (long) (zw - 1) * PAD_MULTIPLE >= e.width()) {
      throw new BitstreamException("latent size " + zh + "x" + zw + " does not fit image size " + e.height() + "x"
          + e.width());
    }
    if ((long) zh * zw * PAD_MULTIPLE * PAD_MULTIPLE > MAX_PIXELS) {
      throw new BitstreamException("image of " + e.height() + "x" + e.width() + " is larger than this decoder accepts");
    }
    try (NDManager m = manager.newSubManager(device);
        NDScope scope = new NDScope()) {
      try {
        TacoModel.Latents latents =
            model.decodeLatents(new TacoModel.Strings(e.yString(), e.zString(), zh, zw), m, listener);
        // Checked before gS runs: a file that decodes to other symbols is refused without paying for the synthesis.
        if (verify) {
          Checksums.requireSymbols("z (hyperprior)", e.zSymbolsCrc(), latents.zSymbols());
          Checksums.requireSymbolsCrc("y (latent)", e.ySymbolsCrc(), latents.ySymbols().crc());
        }
        NativeMemory.releaseFreedMemory((long) zh * zw * PAD_MULTIPLE * PAD_MULTIPLE);
        // x̂ is never whole in native memory: gS hands its output over in bands, which `out` crops, clamps and copies
        // to the host piece by piece.
        try (ReducedPrecision.Scope p = ReducedPrecision.request(precision)) {
          model.synthesizeBands(latents.yHat(), listener, tiling, out);
        }
      } catch (EntropyCodingException ex) {
        throw new BitstreamException("corrupt or truncated bitstream: " + ex.getMessage(), ex);
      }
      listener.stage("done");
    }
  }

  /** The model (tests and probes in this package: e.g. the latents a file decodes to). */
  TacoModel model() {
    return model;
  }

  /** Number of native arrays held by the codec's long-lived manager (tests: must not grow with use). */
  int managedArrays() {
    return manager instanceof ai.djl.ndarray.BaseNDManager b ? b.getManagedArrays().size() : -1;
  }

  private void ensureOpen() {
    if (closed) {
      throw new TacoException("this TacoCodec has been closed");
    }
  }

  /**
   * Releases the parameters once the calls running on other threads have finished; later calls throw a {@link
   * TacoException}. Idempotent.
   */
  @Override
  public void close() {
    closed = true;
    gate.closeAndAwait();
    manager.close();
  }
}
