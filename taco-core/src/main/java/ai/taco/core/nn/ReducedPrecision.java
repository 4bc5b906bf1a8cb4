package ai.taco.core.nn;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.taco.core.tensor.Precision;
import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * Runs the convolutions of gA and gS (1×1 ones as matrix products) in bfloat16 (or float16) without DJL ever naming a
 * reduced-precision data type.
 *
 * <p>WHY this route: DJL 0.36's JNI maps only its data types 0-8 to libtorch types and aborts the JVM on any other
 * (BFLOAT16 is 11; docs/djl-traps.md), so no DJL call may name bfloat16. libtorch's automatic mixed precision does the
 * cast itself: with the thread's CPU (or CUDA) autocast switched on, {@code conv2d} and {@code linear} cast their
 * float32 inputs to the autocast type and return that type. The switch is thread-local state of
 * libtorch ({@code at::autocast::set_autocast_enabled/set_autocast_dtype/set_autocast_cache_enabled}, reached
 * through JNA as {@link ai.taco.core.nn.LibTorch} reaches NNPACK's), set just before one such operation and restored just
 * after it, so every other operation, and every other thread, keeps float32. The operation runs without its bias and
 * the float32 bias is added afterwards: the sum of a bfloat16 and a float32 tensor is float32 (libtorch's type
 * promotion), so the same pass that adds the bias brings the result back to float32, differentiably (a DJL {@code
 * toType} would cut the autograd graph). DJL only ever sees the float32 result; the bfloat16 intermediate is reported
 * by DJL as UNKNOWN, closed at once and never passed to a DJL call that names a type.
 *
 * <p>Reduced-precision convolutions always read channels-last input ({@link ChannelsLast#of}, a view for the maps of
 * gA and gS, which are stored that way): libtorch 2.7.1's bfloat16 convolution gives wrong results (relative errors
 * of 0.2-0.6, not rounding) for a contiguous NCHW input when the output channels are not a multiple of 16 and the
 * kernel is larger than 1×1 (oneDNN's blocked format with padded weights; measured here for 16→24 3×3, 192→12 3×3,
 * 3→8 5×5); channels-last input gives the expected bfloat16 errors for every shape tried (ReducedPrecisionTest).
 *
 * <p>The Injectors' attention runs folded ({@code CrossAttention#foldedForward}): the 38 caption tokens' keys and
 * values folded into two dense weights, so each image position costs two wide products in the reduced precision
 * and a float32 softmax (bf16 gA 15 % faster on kodim01 than with the attention in float32; casting the unfolded
 * per-head products had measured 0.9×). The Extractor's attention runs folded the other way ({@code
 * CrossAttention#forward(NDArray, int, java.util.function.IntFunction)}): its 38 queries folded into the keys' and
 * values' weights, so the image tokens meet two products in the reduced precision instead of their key and value
 * projections; LayerNorms and softmaxes stay float32 here. In bfloat16 inference the Injectors run wholly in bfloat16
 * and the Extractor's projection and LayerNorm too ({@code CrossAttention#reducedForward}, {@link Dense}, through
 * {@link OneDnn}).
 *
 * <p>In a codec under bfloat16 (autograd off, parameters frozen) the layers' convolutions take {@link OneDnn}'s fused
 * operations on kept bfloat16 kernels instead of autocast; this class still casts maps into and out of the stream and
 * computes the text adapters' products.
 *
 * <p>Which precision applies: a codec or trainer {@link #request requests} one for its calling thread around a whole
 * call; it takes effect only inside {@link #transform} (gA and gS), so hA, hS and the context model stay float32 even
 * within that call. With {@link Precision#FP32} in effect (the default) every method here is exactly the plain DJL
 * operation: the float32 bitstreams do not change.
 */
public final class ReducedPrecision {
  /** The precision asked for by the call running on this thread. */
  private static final ThreadLocal<Precision> REQUESTED = ThreadLocal.withInitial(() -> Precision.FP32);

  /** The precision the operations use now: the requested one inside {@link #transform}, float32 elsewhere. */
  private static final ThreadLocal<Precision> ACTIVE = ThreadLocal.withInitial(() -> Precision.FP32);

  /** Whether this thread is inside {@link #transform} (gA or gS). */
  private static final ThreadLocal<Boolean> IN_TRANSFORM = ThreadLocal.withInitial(() -> Boolean.FALSE);

  /**
   * Convolutions with fewer input channels stay float32: oneDNN's bfloat16 kernels need 16-channel blocks, and gA's
   * first 5×5/2 convolution (3 → N channels) measured 2.4× slower in bfloat16 than in float32 on a 768×512 image.
   */
  static final int MIN_REDUCED_IN_CHANNELS = 16;

  private ReducedPrecision() {}

  /** Restores the previous request of this thread when closed. */
  public interface Scope extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * Asks for {@code precision} in the transforms run by this thread until the scope closes (then the previous request
   * applies again). Nested requests restore in order.
   */
  public static Scope request(Precision precision) {
    Precision previous = REQUESTED.get();
    REQUESTED.set(precision);
    return () -> REQUESTED.set(previous);
  }

  /** Runs {@code body} (gA or gS) with the requested precision in effect for its convolutions. */
  public static <T> T transform(Supplier<T> body) {
    Precision previous = ACTIVE.get();
    Boolean wasInTransform = IN_TRANSFORM.get();
    ACTIVE.set(REQUESTED.get());
    IN_TRANSFORM.set(Boolean.TRUE);
    try {
      return body.get();
    } finally {
      ACTIVE.set(previous);
      IN_TRANSFORM.set(wasInTransform);
    }
  }

  /**
   * Whether this thread runs gA or gS now ({@link #transform}): their 1×1 convolutions may take oneDNN's kernels
   * ({@link Conv}), the entropy models' may not.
   */
  public static boolean inTransform() {
    return IN_TRANSFORM.get();
  }

  /** The precision this thread's convolutions use right now. */
  public static Precision active() {
    return ACTIVE.get();
  }

  /** {@code Conv2d.conv2d(x, w, b, ...)}: float32 in, float32 out, computed in the active precision. */
  public static NDArray conv2d(
      NDArray x, NDArray w, NDArray b, Shape stride, Shape padding, Shape dilation, int groups) {
    Precision p = ACTIVE.get();
    if (p == Precision.FP32 || staysFloat32(x, w)) {
      return Conv2d.conv2d(x, w, b, stride, padding, dilation, groups).singletonOrThrow();
    }
    NDArray in = ChannelsLast.of(x);
    NDArray low = autocast(p, in, () -> Conv2d.conv2d(in, w, null, stride, padding, dilation, groups)
        .singletonOrThrow());
    return b == null ? toFloat32(low) : addClose(low, b.reshape(1, -1, 1, 1));
  }

  /**
   * {@code x} in the active reduced precision, to be carried between the blocks of gA/gS (the residual stream): one
   * cast here instead of one in every convolution that reads it and a float32 pass in every residual sum. The cast is
   * a depthwise 1×1 convolution with unit weights, which autocast runs in the reduced type (libtorch offers no other
   * cast that never names the type to DJL); the product with 1 is exact, so the result is x rounded to bfloat16. Under
   * float32, for a map already reduced, or for fewer than {@link #MIN_REDUCED_IN_CHANNELS} channels (the RGB image),
   * {@code x} itself.
   */
  public static NDArray toReduced(NDArray x) {
    Precision p = ACTIVE.get();
    long channels = x.getShape().get(1);
    if (p == Precision.FP32 || isReduced(x) || channels < MIN_REDUCED_IN_CHANNELS) {
      return x;
    }
    NDArray in = ChannelsLast.of(x);
    NDArray unit = x.getManager().ones(new Shape(channels, 1, 1, 1));
    NDArray out = autocast(p, in, () -> Conv2d.conv2d(in, unit, null, new Shape(1, 1), new Shape(0, 0),
        new Shape(1, 1), (int) channels).singletonOrThrow());
    unit.close();
    return out;
  }

  /**
   * {@code x} as float32: itself if it is, else a float32 copy, differentiably (plus a one-element float32 zero: type
   * promotion; {@code x} is left to its owner). Where a map of the reduced residual stream leaves it: the end of
   * gA/gS, gS's tiles, the inputs of float32 operations (gA's tiles are converted by the copy into their float32 map,
   * and the text adapters read the stream as it is).
   */
  public static NDArray float32(NDArray x) {
    if (!isReduced(x)) {
      return x;
    }
    NDArray zero = x.getManager().zeros(new Shape(1), DataType.FLOAT32);
    NDArray out = x.add(zero);
    zero.close();
    return out;
  }

  /**
   * An uninitialised [1,C,H,W] channels-last map of {@code like}'s reduced type, for tiles of the reduced stream to be
   * copied into (a tiled transform's intermediate maps: half the memory of float32, and the next layer reads them
   * without a conversion); null where libtorch cannot make one (the caller then keeps float32).
   */
  public static NDArray emptyReduced(NDArray like, long channels, long height, long width) {
    return isReduced(like) ? OneDnn.emptyChannelsLast(like, 1, channels, height, width) : null;
  }

  /** Whether {@code x} holds a reduced-precision type (which DJL reports as UNKNOWN and must never be passed on). */
  public static boolean isReduced(NDArray x) {
    return x.getDataType() != DataType.FLOAT32;
  }

  /** A float32 input of a convolution with few input channels (see {@link #MIN_REDUCED_IN_CHANNELS}). */
  private static boolean staysFloat32(NDArray x, NDArray w) {
    // A reduced-precision input (inside a block of a narrow model) must go through autocast: a plain convolution
    // refuses a bfloat16 input with a float32 bias.
    return w.getShape().get(1) < MIN_REDUCED_IN_CHANNELS && x.getDataType() == DataType.FLOAT32;
  }

  /**
   * {@code Linear.linear(x, w, b)} (y = x·Wᵀ + b on the last axis), computed in the active precision; under float32
   * inside gA/gS by oneDNN where {@link Pointwise} says so.
   */
  public static NDArray linear(NDArray x, NDArray w, NDArray b) {
    Precision p = ACTIVE.get();
    if (p == Precision.FP32) {
      if (Pointwise.eligible(x, w.getShape().get(1))) {
        // gA's text adapters: oneDNN at every thread count, once checked
        return Pointwise.linear(x, w, b, rows -> matrixProduct(rows, w, b));
      }
      return matrixProduct(x, w, b);
    }
    NDArray low = autocast(p, x, () -> Linear.linear(x, w).singletonOrThrow());
    return b == null ? toFloat32(low) : addClose(low, b);
  }

  /** {@code a.matMul(b)} computed in the active precision, the result float32. */
  static NDArray matMul(NDArray a, NDArray b) {
    Precision p = ACTIVE.get();
    if (p == Precision.FP32) {
      return a.matMul(b);
    }
    return toFloat32(autocast(p, a, () -> a.matMul(b)));
  }

  /** {@code Linear.linear(x, w, b)} in float32 (libtorch's matrix product); {@code b} may be null. */
  private static NDArray matrixProduct(NDArray x, NDArray w, NDArray b) {
    return (b == null ? Linear.linear(x, w) : Linear.linear(x, w, b)).singletonOrThrow();
  }

  /**
   * As {@link #conv2d}, but a reduced-precision result is returned as it is (bias added inside the convolution). Only
   * for consumers that never name its data type to DJL (ReLU, another operation of this class): DJL reports it as
   * UNKNOWN, and a DJL call passing that type on (e.g. {@code zeros(shape, x.getDataType())}) would abort the JVM.
   */
  public static NDArray conv2dReduced(
      NDArray x, NDArray w, NDArray b, Shape stride, Shape padding, Shape dilation, int groups) {
    Precision p = ACTIVE.get();
    if (p == Precision.FP32 || staysFloat32(x, w)) {
      return Conv2d.conv2d(x, w, b, stride, padding, dilation, groups).singletonOrThrow();
    }
    NDArray in = ChannelsLast.of(x);
    return autocast(p, in, () -> Conv2d.conv2d(in, w, b, stride, padding, dilation, groups).singletonOrThrow());
  }

  /** As {@link #linear}, the result left in reduced precision (the caveat of {@link #conv2dReduced}). */
  public static NDArray linearReduced(NDArray x, NDArray w, NDArray b) {
    Precision p = ACTIVE.get();
    if (p == Precision.FP32) {
      return Linear.linear(x, w, b).singletonOrThrow();
    }
    return autocast(p, x, () -> Linear.linear(x, w, b).singletonOrThrow());
  }

  /**
   * {@code branch + x} for a branch computed by a {@code ...Reduced} operation: in place on the branch when both have
   * the same type (float32, or both in the reduced residual stream); otherwise a new float32 sum (type promotion), the
   * reduced-precision branch closed.
   */
  public static NDArray addResidual(NDArray branch, NDArray x) {
    if (ACTIVE.get() == Precision.FP32 || isReduced(branch) == isReduced(x)) {
      // Same type (float32, or both in the reduced residual stream): in place on the fresh branch.
      return branch.addi(x);
    }
    return addClose(branch, x);
  }

  /** {@code low + f32}: float32 by type promotion; {@code low} (reduced precision) is closed. */
  private static NDArray addClose(NDArray low, NDArray f32) {
    NDArray out = low.add(f32);
    low.close();
    return out;
  }

  /** A reduced-precision result as float32 ({@link #float32}), {@code low} closed. */
  private static NDArray toFloat32(NDArray low) {
    NDArray out = float32(low);
    low.close();
    return out;
  }

  /** Runs {@code op} with libtorch's autocast on for this thread and {@code x}'s device, then restores its state. */
  private static NDArray autocast(Precision p, NDArray x, Supplier<NDArray> op) {
    Native n = Native.get();
    byte device = x.getDevice().isGpu() ? Native.DEVICE_CUDA : Native.DEVICE_CPU;
    Native.State saved = n.state(device);
    n.set(device, true, p == Precision.BF16 ? Native.BFLOAT16 : Native.HALF, false);
    try {
      return op.get();
    } finally {
      n.set(device, saved.enabled(), saved.dtype(), saved.cache());
    }
  }

  /**
   * Why a CPU run at {@code precision} would be slow, or null: bfloat16 needs {@code avx512_bf16} or {@code amx_bf16}
   * (Linux /proc/cpuinfo flags), float16 on a CPU is always emulated. libtorch then converts in software; the
   * results are the same, only slower.
   */
  public static String cpuWarning(Precision precision, Device device) {
    if (precision == Precision.FP32 || device.isGpu()) {
      return null;
    }
    if (precision == Precision.FP16) {
      return "fp16 on a CPU is emulated by libtorch (slow); fp16 is meant for CUDA devices, use bf16 on CPUs";
    }
    String flags = cpuFlags();
    if (flags == null) {
      return "cannot tell whether this CPU has native bfloat16 (no /proc/cpuinfo): bf16 may be emulated and slow";
    }
    if (!flags.contains(" avx512_bf16") && !flags.contains(" amx_bf16")) {
      return "this CPU has no native bfloat16 (neither avx512_bf16 nor amx_bf16 in /proc/cpuinfo): libtorch emulates "
          + "bf16, which is slower than fp32 here";
    }
    return null;
  }

  private static String cpuFlags() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("flags")) {
          return line + " ";
        }
      }
    } catch (java.io.IOException | RuntimeException e) {
      return null;
    }
    return null;
  }

  /** libtorch's thread-local autocast switches (libtorch_cpu, C++ symbols of PyTorch 2.x's at::autocast). */
  static final class Native {
    /** c10::DeviceType::CPU / CUDA (int8_t enum). */
    static final byte DEVICE_CPU = 0;

    static final byte DEVICE_CUDA = 1;

    /** c10::ScalarType::Half / BFloat16 (int8_t enum, c10/core/ScalarType.h). */
    static final byte HALF = 5;

    static final byte BFLOAT16 = 15;

    private static final String IS_ENABLED = "_ZN2at8autocast19is_autocast_enabledEN3c1010DeviceTypeE";
    private static final String SET_ENABLED = "_ZN2at8autocast20set_autocast_enabledEN3c1010DeviceTypeEb";
    private static final String GET_DTYPE = "_ZN2at8autocast18get_autocast_dtypeEN3c1010DeviceTypeE";
    private static final String SET_DTYPE = "_ZN2at8autocast18set_autocast_dtypeEN3c1010DeviceTypeENS1_10ScalarTypeE";
    private static final String IS_CACHE = "_ZN2at8autocast25is_autocast_cache_enabledEv";
    private static final String SET_CACHE = "_ZN2at8autocast26set_autocast_cache_enabledEb";

    private static volatile Native instance;

    private final Function isEnabled;
    private final Function setEnabled;
    private final Function getDtype;
    private final Function setDtype;
    private final Function isCache;
    private final Function setCache;

    record State(boolean enabled, byte dtype, boolean cache) {}

    private Native(NativeLibrary torch) {
      isEnabled = torch.getFunction(IS_ENABLED);
      setEnabled = torch.getFunction(SET_ENABLED);
      getDtype = torch.getFunction(GET_DTYPE);
      setDtype = torch.getFunction(SET_DTYPE);
      isCache = torch.getFunction(IS_CACHE);
      setCache = torch.getFunction(SET_CACHE);
    }

    /**
     * The symbols of the libtorch DJL loaded.
     *
     * @throws UnsupportedOperationException if that libtorch lacks them (reduced precision cannot run)
     */
    static Native get() {
      Native n = instance;
      if (n == null) {
        synchronized (Native.class) {
          n = instance;
          if (n == null) {
            Engine.getEngine("PyTorch");
            Path lib = LibTorch.torchCpu();
            try {
              n = new Native(NativeLibrary.getInstance(lib.toString()));
            } catch (UnsatisfiedLinkError e) {
              throw new UnsupportedOperationException(
                  "reduced precision needs libtorch's autocast functions, not found in " + lib + ": " + e.getMessage(),
                  e);
            }
            instance = n;
          }
        }
      }
      return n;
    }

    // C++ bool and int8_t enums come back in the low byte of the return register (the rest is unspecified): read
    // as byte. A bool argument is passed as the byte 0 or 1, never as a Java Boolean: JNA passes Boolean.TRUE as an
    // int whose low byte is not 1 (measured: set_autocast_enabled(CPU, TRUE) left autocast off, (byte) 1 turned it on).
    State state(byte device) {
      boolean enabled = (byte) isEnabled.invoke(Byte.class, new Object[] {device}) != 0;
      byte dtype = (byte) getDtype.invoke(Byte.class, new Object[] {device});
      boolean cache = (byte) isCache.invoke(Byte.class, new Object[0]) != 0;
      return new State(enabled, dtype, cache);
    }

    /**
     * Sets this thread's autocast state for {@code device}. The weight cache is off while reduced precision runs: it
     * would keep a cast of each trainable weight keyed by its storage, stale after an optimizer step updates the
     * weight in place (PyTorch clears it when its autocast context exits, which nothing here does).
     */
    void set(byte device, boolean enabled, byte dtype, boolean cache) {
      setDtype.invoke(Void.class, new Object[] {device, dtype});
      setCache.invoke(Void.class, new Object[] {bool(cache)});
      setEnabled.invoke(Void.class, new Object[] {device, bool(enabled)});
    }

    private static byte bool(boolean b) {
      return (byte) (b ? 1 : 0);
    }
  }
}
