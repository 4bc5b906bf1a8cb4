package ai.taco.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.taco.core.entropy.ScaleTable;
import ai.taco.core.io.BitstreamException;
import ai.taco.core.io.CompressAiFile;
import ai.taco.core.io.HostTensor;
import ai.taco.core.io.ImageException;
import ai.taco.core.io.Images;
import ai.taco.core.io.StateDict;
import ai.taco.core.io.TacoFile;
import ai.taco.core.transform.Tiling;
import ai.taco.entropy.EntropyCodingException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * TACO image codec: load the weights once, then {@link #compress} images (with their caption features) and {@link
 * #decompress} them (no caption needed) from any number of threads. Bitstreams are those of the official TACO code
 * (CompressAI 1.2.6), wrapped in TACO-J's {@link TacoFile} container or the official {@code .bin} layout ({@link
 * CompressAiFile}).
 *
 * <pre>{@code
 * try (TacoCodec codec = TacoCodec.load(Path.of("taco.pth.tar"), TacoConfig.FULL, ScaleTable.TORCH1)) {
 *   HostTensor image = Images.read(Path.of("kodim01.png"));                // [1,3,H,W] in [0,1]
 *   HostTensor text = SafeTensors.read(Path.of("caption.safetensors")).tensors().values().iterator().next();
 *   TacoFile file = codec.compress(image, text);
 *   HostTensor decoded = codec.decompress(file);                           // [1,3,H,W] in [0,1]
 * }
 * }</pre>
 *
 * <p>Images of any size are padded right/bottom with zeros to a multiple of 64 (as the official evaluation does) and
 * the reconstruction is cropped back. Thread-safe: each call works in its own {@link NDManager} and {@link NDScope};
 * the parameters live in one manager owned by the codec and released by {@link #close()}.
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

  private final NDManager manager;
  private final TacoModel model;
  private final byte[] fingerprint;
  private volatile Tiling tiling = Tiling.DEFAULT;

  private TacoCodec(NDManager manager, TacoModel model, byte[] fingerprint) {
    this.manager = manager;
    this.model = model;
    this.fingerprint = fingerprint;
    model.update();
    model.freeze();
  }

  /** Loads official weights ({@code .pth}/{@code .pth.tar} with or without {@code module.}, or safetensors). */
  public static TacoCodec load(Path weights, TacoConfig config, ScaleTable table) {
    return of(StateDict.load(weights), config, table);
  }

  /** A codec over an in-memory state dict (official key names). */
  public static TacoCodec of(Map<String, HostTensor> stateDict, TacoConfig config, ScaleTable table) {
    NDManager m = NDManager.newBaseManager();
    try {
      TacoModel model = TacoModel.load(stateDict, config, m, table);
      return new TacoCodec(m, model, TacoFile.fingerprint(model.stateDict()));
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
  }

  /** A randomly initialised codec (benchmarks and tests; its reconstructions are meaningless). */
  public static TacoCodec random(TacoConfig config, long seed) {
    NDManager m = NDManager.newBaseManager();
    TacoModel model = TacoModel.create(config, m, seed);
    return new TacoCodec(m, model, TacoFile.fingerprint(model.stateDict()));
  }

  public TacoConfig config() {
    return model.config();
  }

  public ScaleTable scaleTable() {
    return model.scaleTable();
  }

  /**
   * Runs gA and gS over tiles of this size from now on ({@link Tiling#NONE}: whole images). Bitstreams do not depend
   * on it up to float rounding, and none of it is recorded in the file.
   */
  public TacoCodec tiling(Tiling t) {
    tiling = java.util.Objects.requireNonNull(t, "tiling");
    return this;
  }

  public Tiling tiling() {
    return tiling;
  }

  /** Fingerprint of the loaded weights, as recorded in {@link TacoFile}. */
  public byte[] weightsFingerprint() {
    return fingerprint.clone();
  }

  /**
   * The two rANS strings of one image with what a decoder needs: original size, latent size and checksums of the
   * coded symbols.
   */
  public record Encoded(
      int height, int width, int zHeight, int zWidth, byte[] zString, byte[] yString, int zSymbolsCrc, int ySymbolsCrc) {}

  /**
   * Receives the name of each coding stage as it starts (encode: {@code gA}, {@code hyper}, {@code context}; decode:
   * {@code hyper}, {@code context}, {@code gS}) and {@code done} at the end; for profiling.
   */
  @FunctionalInterface
  public interface StageListener {
    void stage(String name);

    /**
     * After each step of gA (encode) or gS (decode), e.g. {@code gA.4 Conv}. On the CPU the time since the previous
     * call is that step's cost; on a GPU the operations may still be running.
     */
    default void step(String name) {}
  }

  /** {@link #compress(HostTensor, HostTensor)} reporting its stages to {@code listener}. */
  public TacoFile compress(HostTensor image, HostTensor text, StageListener listener) {
    return toFile(encode(image, text, probe(listener)));
  }

  /** {@link #decompress(TacoFile)} reporting its stages to {@code listener}. */
  public HostTensor decompress(TacoFile file, StageListener listener) {
    return decode(encoded(file), true, true, probe(listener));
  }

  /** Passes stage and step events on (to a listener or an outer probe); subclasses add the symbol hooks. */
  private static class Forwarding implements TacoModel.Probe {
    private final Consumer<String> stage;
    private final Consumer<String> step;

    Forwarding(Consumer<String> stage, Consumer<String> step) {
      this.stage = stage;
      this.step = step;
    }

    Forwarding(TacoModel.Probe outer) {
      this(outer::stage, outer::step);
    }

    @Override
    public void stage(String name) {
      stage.accept(name);
    }

    @Override
    public void step(String name) {
      step.accept(name);
    }
  }

  private static TacoModel.Probe probe(StageListener listener) {
    return new Forwarding(listener::stage, listener::step);
  }

  /**
   * Compresses one image.
   *
   * @param image float [1,3,H,W] or [3,H,W], values in [0,1] (see {@link Images#read(Path)})
   * @param text caption features [T,textDim] or [1,T,textDim] (CLIP text encoder output)
   */
  public TacoFile compress(HostTensor image, HostTensor text) {
    return toFile(encode(image, text, TacoModel.NO_PROBE));
  }

  /** As {@link #compress} in the official {@code .bin} layout (no checksums: decoding cannot detect a mismatch). */
  public CompressAiFile compressOfficial(HostTensor image, HostTensor text) {
    Encoded e = encode(image, text, TacoModel.NO_PROBE);
    return CompressAiFile.of(e.height(), e.width(), e.zHeight(), e.zWidth(), e.yString(), e.zString());
  }

  /** Decodes a {@link TacoFile}: refuses other weights, another scale table, or symbols that decode differently. */
  public HostTensor decompress(TacoFile file) {
    return decode(encoded(file), true, true, TacoModel.NO_PROBE);
  }

  /** Decodes an official {@code .bin}: y string first, then z (official {@code write_body} order). */
  public HostTensor decompress(CompressAiFile file) {
    return decode(encoded(file), false, true, TacoModel.NO_PROBE);
  }

  /**
   * As {@link #decompress(TacoFile)} but without the final clamp to [0,1]: the synthesis output cropped to H×W, as the
   * official {@code decompress(...)["x_hat"]} returns it (see {@link #decompressUnclamped(CompressAiFile)}).
   */
  public HostTensor decompressUnclamped(TacoFile file) {
    return decode(encoded(file), true, false, TacoModel.NO_PROBE);
  }

  /**
   * As {@link #decompress(CompressAiFile)} but without the final clamp to [0,1]: the synthesis output cropped to H×W,
   * exactly the official {@code net.decompress(...)["x_hat"][..., :H, :W]}, on which the official evaluation
   * ({@code generate_images_*.py}) computes PSNR, MS-SSIM and LPIPS. Values may lie outside [0,1].
   */
  public HostTensor decompressUnclamped(CompressAiFile file) {
    return decode(encoded(file), false, false, TacoModel.NO_PROBE);
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

  TacoFile toFile(Encoded e) {
    return new TacoFile(scaleTable(), fingerprint, e.height(), e.width(), e.zHeight(), e.zWidth(), e.zSymbolsCrc(),
        e.ySymbolsCrc(), e.zString(), e.yString());
  }

  /** Encoder with an optional probe (stage timing in the benchmark). */
  Encoded encode(HostTensor image, HostTensor text, TacoModel.Probe probe) {
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
    requireFinite(image, "image");
    requireFinite(text, "caption features");
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NDArray x = image.toNDArray(m).toType(DataType.FLOAT32, false).reshape(1, 3, h, w);
      NDArray t = text.toNDArray(m).toType(DataType.FLOAT32, false).reshape(1, tokens, textDim);
      NDArray xPadded = Images.pad(x, PAD_MULTIPLE);
      int[][] symbols = new int[2][];
      TacoModel.Strings s =
          model.compress(xPadded, t, new Forwarding(probe) {
            @Override
            public void ySymbols(TacoModel.CodedSymbols c) {
              symbols[1] = c.symbols();
              probe.ySymbols(c);
            }

            @Override
            public void zSymbols(int[] z) {
              symbols[0] = z;
            }
          }, tiling);
      probe.stage("done");
      return new Encoded(h, w, s.zHeight(), s.zWidth(), s.zString(), s.yString(),
          TacoFile.symbolChecksum(symbols[0]), TacoFile.symbolChecksum(symbols[1]));
    }
  }

  private static void requireFinite(HostTensor t, String what) {
    for (float v : t.toFloatArray()) {
      if (!Float.isFinite(v)) {
        throw new TacoException(what + " contain NaN or infinite values");
      }
    }
  }

  /**
   * Decoder; with {@code verify}, symbol checksums are compared before the synthesis transform runs; with {@code
   * clamp}, the reconstruction is clamped to [0,1].
   */
  HostTensor decode(Encoded e, boolean verify, boolean clamp, TacoModel.Probe probe) {
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
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NDArray xHat;
      try {
        xHat = model.decompress(new TacoModel.Strings(e.yString(), e.zString(), zh, zw), m, new Forwarding(probe) {
          @Override
          public void zSymbols(int[] z) {
            if (verify && TacoFile.symbolChecksum(z) != e.zSymbolsCrc()) {
              throw new BitstreamException("decoded z (hyperprior) symbols differ from the encoded ones: corrupt file"
                  + " or a decoder whose floating-point results differ from the encoder's");
            }
          }

          @Override
          public void ySymbols(TacoModel.CodedSymbols c) {
            if (verify && TacoFile.symbolChecksum(c.symbols()) != e.ySymbolsCrc()) {
              throw new BitstreamException("decoded y (latent) symbols differ from the encoded ones: corrupt file or"
                  + " a decoder whose floating-point results differ from the encoder's (other machine, library"
                  + " version or thread count)");
            }
            probe.ySymbols(c);
          }
        }, tiling);
      } catch (EntropyCodingException ex) {
        throw new BitstreamException("corrupt or truncated bitstream: " + ex.getMessage(), ex);
      }
      NDArray cropped = Images.crop(xHat, e.height(), e.width());
      NDArray out = clamp ? cropped.clip(0f, 1f) : cropped;
      probe.stage("done");
      return HostTensor.fromNDArray(out);
    }
  }

  /** Number of native arrays held by the codec's long-lived manager (tests: must not grow with use). */
  int managedArrays() {
    return manager instanceof ai.djl.ndarray.BaseNDManager b ? b.getManagedArrays().size() : -1;
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("this TacoCodec has been closed");
    }
  }

  /** Releases the parameters. The codec must not be used afterwards (calls then throw IllegalStateException). */
  @Override
  public void close() {
    closed = true;
    manager.close();
  }
}
