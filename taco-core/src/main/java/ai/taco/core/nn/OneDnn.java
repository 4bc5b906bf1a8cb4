package ai.taco.core.nn;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.JniUtils;
import ai.taco.core.tensor.Precision;
import com.sun.jna.Function;
import com.sun.jna.Memory;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * oneDNN's fused convolutions for gA and gS under bfloat16: a convolution with its ReLU or sigmoid in one pass, and a
 * convolution summed into the residual map it belongs to (then optionally rectified), written into that map's memory.
 * Unfused, each ReLU and each residual sum reads and writes a whole feature map again; fused, a residual bottleneck at
 * half resolution took 19.1 instead of 22.7 ms (docs/performance.md, "Fused convolutions"). Beside them, the
 * bfloat16 operations that keep the text adapters and the maps between blocks in the reduced stream: a product with
 * its bias or residual inside ({@link #addmm}), a softmax ({@link #softmax}), and empty bfloat16 maps to copy tiles
 * and upsampled phases into ({@link #emptyChannelsLast}).
 *
 * <p>HOW: libtorch's stable C interface for ahead-of-time compiled models ({@code aoti_torch_*}, exported by
 * {@code libtorch_cpu}), whose {@code mkldnn::_convolution_pointwise} functions are what PyTorch's own compiler
 * emits for these patterns. It takes the {@code torch::Tensor*} a DJL array's handle is and returns a new one, and
 * catches every C++ exception itself (an error code, the message on stderr), unlike a direct C++ call, which
 * would end the JVM. Nothing here names a reduced-precision type to DJL.
 *
 * <p>WHEN: only under {@link Precision#BF16} on a CPU, with autograd recording nothing on this thread (these operations
 * have no backward) and the parameters frozen (a codec: their bfloat16 copies are made once and kept, see {@link
 * NamedParameters#cached}), for a map already in the reduced residual stream. Everywhere else, and for a call
 * libtorch refuses, the layers take their unfused operations, which give the same values up to bfloat16 rounding.
 */
final class OneDnn {
  private static final Logger LOG = LoggerFactory.getLogger(OneDnn.class);

  /** What follows the convolution inside the fused operation (oneDNN post-op names, PyTorch's fusion attributes). */
  enum Post {
    NONE("none"),
    RELU("relu"),
    SIGMOID("sigmoid");

    final String attr;

    Post(String attr) {
      this.attr = attr;
    }

    /** The same activation unfused, in place where allowed ({@link InPlace}), consuming {@code x}. */
    NDArray apply(NDArray x) {
      return switch (this) {
        case NONE -> x;
        case RELU -> InPlace.relu(x);
        case SIGMOID -> InPlace.sigmoid(x);
      };
    }
  }

  private static final String CONV = "aoti_torch_cpu_mkldnn__convolution_pointwise";
  private static final String CONV_ADD_INTO = "aoti_torch_cpu_mkldnn__convolution_pointwise_binary_";
  private static final String EMPTY_STRIDED = "aoti_torch_empty_strided";
  private static final String COPY = "aoti_torch_copy_";
  private static final String BFLOAT16 = "aoti_torch_dtype_bfloat16";
  private static final String CPU = "aoti_torch_device_type_cpu";
  private static final String DTYPE = "aoti_torch_get_dtype";
  private static final String DEVICE_TYPE = "aoti_torch_get_device_type";
  private static final String DEVICE_INDEX = "aoti_torch_get_device_index";
  private static final String ADDMM = "aoti_torch_cpu_addmm_out";
  private static final String NEW_HANDLE = "aoti_torch_new_tensor_handle";
  private static final String DISPATCH = "aoti_torch_call_dispatcher";
  private static final String STRIDES = "aoti_torch_get_strides";

  private record Functions(Function conv, Function convAddInto, Function emptyStrided, Function copy, int bfloat16,
      int cpu, Function dtype, Function deviceType, Function deviceIndex, Function addmm, Function newHandle,
      Function dispatch, Function strides) {}

  private static volatile Functions functions;

  /** Whether a refused call was logged already (once per process; each refused call falls back on its own). */
  private static volatile boolean warned;

  /**
   * 1×1 shapes (in, out, batch, height, width, threads) checked against the unfused product → whether they agreed.
   * libtorch 2.7.1's oneDNN 1×1 kernels gave wrong values for some float32 shapes on this CPU ({@link Pointwise}); the
   * unfused bfloat16 route used matrix products, so every new 1×1 shape is checked once before it is trusted.
   */
  private static final Map<List<Long>, Boolean> POINTWISE = new ConcurrentHashMap<>();

  /**
   * Two bfloat16 results of one layer differ by a rounding or two (2^-8 of the largest output); a wrong kernel is off
   * by the outputs' own size. Anything above this fraction of the largest output is wrong.
   */
  static final double POINTWISE_AGREEMENT = 1.0 / 32;

  private OneDnn() {}

  /** Whether oneDNN's 1×1 kernel agreed on this shape: null if not checked yet. */
  static Boolean trustedPointwise(List<Long> key) {
    return POINTWISE.get(key);
  }

  /** Rows of a map checked: the first and the last 1/CHECK_SLABS of them ({@code Conv}). */
  static final int CHECK_SLABS = 16;

  /** Whether two results of one layer agree within {@link #POINTWISE_AGREEMENT} of the larger's largest output. */
  static boolean agrees(NDArray fused, NDArray unfused) {
    try (NDScope scope = new NDScope()) {
      NDArray got = ReducedPrecision.float32(fused);
      NDArray want = ReducedPrecision.float32(unfused);
      float diff = got.sub(want).abs().max().getFloat();
      float scale = want.abs().max().getFloat();
      return Float.isFinite(diff) && diff <= POINTWISE_AGREEMENT * Math.max(scale, Float.MIN_NORMAL);
    }
  }

  /** Records the verdict on a 1×1 shape (logged once if it disagreed). */
  static void recordPointwise(List<Long> key, boolean agree) {
    if (POINTWISE.putIfAbsent(key, agree) == null && !agree) {
      LOG.info("oneDNN's bfloat16 1x1 kernel disagrees with the matrix product for shape {}; unfused there", key);
    }
  }

  /**
   * Whether a convolution with {@code inChannels} inputs may run fused on {@code x}: bfloat16 in effect, {@code x} a
   * CPU map of the reduced stream, autograd off, the parameters frozen, the functions present.
   */
  static boolean usable(NDArray x, long inChannels, NamedParameters params) {
    return params.frozen()
        && inChannels >= ReducedPrecision.MIN_REDUCED_IN_CHANNELS
        && usable(x)
        && ReducedPrecision.isReduced(x);
  }

  /**
   * Whether the bfloat16 operations that are not convolutions ({@link #addmm}, {@link #softmax}) may run on arrays of
   * {@code x}'s device: as {@link #usable} without the map's type and the parameters' part (their operands are
   * computed per call).
   */
  static boolean usable(NDArray x) {
    return ReducedPrecision.active() == Precision.BF16
        && x instanceof PtNDArray
        && !x.getDevice().isGpu()
        && !JniUtils.isGradMode()
        && functions() != null;
  }

  /**
   * post(conv(x, w) + b), bfloat16 out, channels-last; {@code w} bfloat16, {@code b} float32. Null if libtorch refused
   * the call (the caller falls back).
   */
  static NDArray conv(NDArray x, NDArray w, NDArray b, long[] stride, long[] padding, Post post) {
    Functions f = functions();
    PointerByReference out = new PointerByReference();
    int rc = (Integer) f.conv().invoke(Integer.class, new Object[] {
        handle(ChannelsLast.of(x)), handle(w), optional(b), padding, 2L, stride, 2L, UNIT, 2L, 1L,
        post.attr, null, 0L, null, out});
    return rc == 0 ? wrap(x, out.getValue()) : refuse(CONV, rc);
  }

  /**
   * post(acc + conv(x, w) + b) written into {@code acc} (bfloat16, channels-last, the convolution's output shape),
   * which is consumed: the result shares its memory. {@code w} and {@code b} bfloat16. Null if libtorch refused the
   * call, {@code acc} then unchanged (its checks run before any computation).
   */
  static NDArray convAddInto(NDArray acc, NDArray x, NDArray w, NDArray b, long[] padding, Post post) {
    Functions f = functions();
    PointerByReference out = new PointerByReference();
    // const char** (an optional name): JNA passes a String[] as a pointer to its strings.
    String[] unary = post == Post.NONE ? null : new String[] {post.attr};
    int rc = (Integer) f.convAddInto().invoke(Integer.class, new Object[] {
        handle(acc), handle(ChannelsLast.of(x)), handle(w), optional(b), padding, 2L, UNIT, 2L, UNIT,
        2L, 1L, "add", null, unary, null, 0L, null, out});
    if (rc != 0) {
      return refuse(CONV_ADD_INTO, rc);
    }
    NDArray result = wrap(acc, out.getValue());
    acc.close();
    return result;
  }

  /**
   * A bfloat16 copy of {@code x} (a parameter) in {@code manager}: a 4-d kernel stored channels-last, as the
   * convolutions want it for channels-last maps (libtorch would otherwise copy it into that layout on every call),
   * anything else contiguous.
   */
  static NDArray bfloat16(NDArray x, NDManager manager) {
    Functions f = functions();
    long[] shape = x.getShape().getShape();
    long[] strides = shape.length == 4 ? channelsLastStrides(shape) : contiguousStrides(shape);
    NDArray copy = allocate(f, shape, strides, f.bfloat16(), f.cpu(), 0, manager);
    int rc = (Integer) f.copy().invoke(Integer.class, new Object[] {handle(copy), handle(x), 0});
    if (rc != 0) {
      copy.close();
      throw new IllegalStateException("libtorch could not convert a tensor to bfloat16 (error " + rc + ")");
    }
    return copy;
  }

  /**
   * An uninitialised [N,C,H,W] map stored channels-last with {@code like}'s type and device (a map of the reduced
   * stream: DJL cannot name its type), in {@code like}'s manager; null where libtorch's C functions are missing.
   */
  static NDArray emptyChannelsLast(NDArray like, long batch, long channels, long height, long width) {
    Functions f = functions();
    if (f == null) {
      return null;
    }
    long[] shape = {batch, channels, height, width};
    return empty(f, like, shape, channelsLastStrides(shape));
  }

  /** An uninitialised array of {@code like}'s type and device with these sizes and strides, in its manager. */
  private static NDArray empty(Functions f, NDArray like, long[] shape, long[] strides) {
    Pointer h = handle(like);
    int[] dtype = new int[1];
    int[] deviceType = new int[1];
    int[] deviceIndex = new int[1];
    int rc = (Integer) f.dtype().invoke(Integer.class, new Object[] {h, dtype});
    rc |= (Integer) f.deviceType().invoke(Integer.class, new Object[] {h, deviceType});
    rc |= (Integer) f.deviceIndex().invoke(Integer.class, new Object[] {h, deviceIndex});
    if (rc != 0) {
      throw new IllegalStateException("libtorch could not read the type of an array (error " + rc + ")");
    }
    return allocate(f, shape, strides, dtype[0], deviceType[0], deviceIndex[0], like.getManager());
  }

  /** An uninitialised array of libtorch type {@code dtype} on the given device, as a DJL array of {@code manager}. */
  private static NDArray allocate(Functions f, long[] shape, long[] strides, int dtype, int deviceType,
      int deviceIndex, NDManager manager) {
    PointerByReference out = new PointerByReference();
    int rc = (Integer) f.emptyStrided().invoke(Integer.class, new Object[] {
        (long) shape.length, shape, strides, dtype, deviceType, deviceIndex, out});
    if (rc != 0) {
      throw new IllegalStateException("libtorch could not allocate an array of shape "
          + java.util.Arrays.toString(shape) + " (error " + rc + ")");
    }
    return new PtNDArray((PtNDManager) manager, Pointer.nativeValue(out.getValue()));
  }

  /** Strides of [N,C,H,W] stored channels-last (NHWC). */
  private static long[] channelsLastStrides(long[] shape) {
    return new long[] {shape[1] * shape[2] * shape[3], 1, shape[3] * shape[1], shape[1]};
  }

  /** Row-major strides of {@code shape}. */
  private static long[] contiguousStrides(long[] shape) {
    long[] strides = new long[shape.length];
    long s = 1;
    for (int i = shape.length - 1; i >= 0; i--) {
      strides[i] = s;
      s *= shape[i];
    }
    return strides;
  }

  /**
   * {@code self + mat1·mat2} (libtorch's addmm: {@code self} broadcast over the rows), all operands and the result of
   * {@code mat1}'s reduced type, the product summed in float32 and rounded once; a new contiguous array. Null if
   * libtorch refused the call.
   */
  static NDArray addmm(NDArray self, NDArray mat1, NDArray mat2) {
    Functions f = functions();
    long rows = mat1.getShape().get(0);
    long cols = mat2.getShape().get(1);
    long[] shape = {rows, cols};
    NDArray out = empty(f, mat1, shape, contiguousStrides(shape));
    int rc = (Integer) f.addmm().invoke(Integer.class, new Object[] {
        handle(out), handle(self), handle(mat1), handle(mat2), 1.0, 1.0});
    if (rc != 0) {
      out.close();
      return refuse(ADDMM, rc);
    }
    return out;
  }

  /**
   * softmax over {@code axis} of a reduced-precision array, in its type (libtorch sums in float32 and rounds the
   * probabilities once): {@code aten::_softmax} through libtorch's boxed dispatcher, which takes a handle of its own
   * for each tensor argument. Null if libtorch refused the call.
   */
  static NDArray softmax(NDArray x, long axis) {
    Functions f = functions();
    PointerByReference own = new PointerByReference();
    int rc = (Integer) f.newHandle().invoke(Integer.class, new Object[] {handle(x), own});
    if (rc != 0) {
      return refuse(NEW_HANDLE, rc);
    }
    // The stack of StableIValues: the tensor handle, the axis, half_to_float = false; the result comes back in slot 0.
    long[] stack = {Pointer.nativeValue(own.getValue()), axis, 0L};
    rc = (Integer) f.dispatch().invoke(Integer.class, new Object[] {"aten::_softmax", "", stack});
    return rc == 0 ? wrap(x, new Pointer(stack[0])) : refuse("aten::_softmax", rc);
  }

  /**
   * Whether libtorch takes a 4-d array for channels-last, so that its convolution computes channels-last and converts a
   * kernel stored otherwise on every call. libtorch's own rule (c10's {@code is_channels_last_strides_2d}): strides
   * non-decreasing in the order C, W, H, N, each at least the previous one times its size, ambiguous layouts (a
   * contiguous [N,C,1,1]) counted as not channels-last. False where the function is missing.
   */
  static boolean channelsLast(NDArray x) {
    Functions f = functions();
    if (f == null || !(x instanceof PtNDArray) || x.getShape().dimension() != 4) {
      return false;
    }
    PointerByReference ref = new PointerByReference();
    int rc = (Integer) f.strides().invoke(Integer.class, new Object[] {handle(x), ref});
    if (rc != 0) {
      return false;
    }
    long[] strides = ref.getValue().getLongArray(0, 4);
    long[] sizes = x.getShape().getShape();
    if (strides[1] == 0) {
      return false;
    }
    long min = 0;
    for (int d : new int[] {1, 3, 2, 0}) {
      if (sizes[d] == 0 || strides[d] < min || d == 0 && min == strides[1]) {
        return false;
      }
      min = sizes[d] > 1 ? strides[d] * sizes[d] : strides[d];
    }
    return true;
  }

  /** A unit stride or dilation (and gS's phase convolutions' padding); the native side only reads it. */
  static final long[] UNIT = {1, 1};

  private static Pointer handle(NDArray x) {
    return new Pointer(((PtNDArray) x).getHandle());
  }

  /** An optional tensor argument ({@code AtenTensorHandle*}): a pointer to the handle, or null. */
  private static Memory optional(NDArray x) {
    if (x == null) {
      return null;
    }
    Memory m = new Memory(com.sun.jna.Native.POINTER_SIZE);
    m.setPointer(0, handle(x));
    return m;
  }

  /** A new handle from libtorch as a DJL array of {@code like}'s manager (and the caller's scope). */
  private static NDArray wrap(NDArray like, Pointer handle) {
    return new PtNDArray((PtNDManager) like.getManager(), Pointer.nativeValue(handle));
  }

  private static NDArray refuse(String function, int rc) {
    if (!warned) {
      warned = true;
      LOG.warn("libtorch refused {} (error {}; its message is above): that operation took the unfused route", function,
          rc);
    }
    return null;
  }

  private static Functions functions() {
    Functions f = functions;
    if (f == null) {
      synchronized (OneDnn.class) {
        f = functions;
        if (f == null) {
          f = load();
          functions = f;
        }
      }
    }
    return f.conv() == null ? null : f;
  }

  private static Functions load() {
    Engine.getEngine("PyTorch");
    try {
      NativeLibrary torch = NativeLibrary.getInstance(LibTorch.torchCpu().toString());
      return new Functions(torch.getFunction(CONV), torch.getFunction(CONV_ADD_INTO),
          torch.getFunction(EMPTY_STRIDED), torch.getFunction(COPY),
          torch.getFunction(BFLOAT16).invokeInt(new Object[0]), torch.getFunction(CPU).invokeInt(new Object[0]),
          torch.getFunction(DTYPE), torch.getFunction(DEVICE_TYPE), torch.getFunction(DEVICE_INDEX),
          torch.getFunction(ADDMM), torch.getFunction(NEW_HANDLE), torch.getFunction(DISPATCH),
          torch.getFunction(STRIDES));
    } catch (UnsatisfiedLinkError e) {
      LOG.debug("fused oneDNN convolutions unavailable ({}): unfused", e.getMessage());
      return new Functions(null, null, null, null, 0, 0, null, null, null, null, null, null, null);
    }
  }
}
