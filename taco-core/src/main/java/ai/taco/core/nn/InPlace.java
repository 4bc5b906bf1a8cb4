package ai.taco.core.nn;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ReLU and sigmoid written into their input's own memory, as PyTorch's {@code nn.ReLU(inplace=True)} does: DJL 0.36 has
 * no in-place activations, and every out-of-place one allocates and fills a new map. A ReLU over a fresh convolution
 * output then reads and writes one map instead of reading one and writing another: a float32 ReLU on gA's
 * 96-channel maps at half resolution took half the time (bfloat16's is bound by its conversions and gains little;
 * docs/performance.md, "In-place activations").
 *
 * <p>HOW: libtorch's own {@code at::relu_} and {@code at::sigmoid_} ({@code at::_ops::relu_::call(at::Tensor&)},
 * exported by {@code libtorch_cpu}), called through JNA on the {@code torch::Tensor*} that a DJL PyTorch array's handle
 * is, as {@link ReducedPrecision} reaches autocast. A C++ exception thrown there would end the JVM (nothing between
 * JNA and libtorch catches it), so the native call is made only where libtorch cannot throw: with autograd's
 * recording off on this thread (no {@code GradientCollector} open: nothing saved for a backward pass can be
 * overwritten, and no leaf or view rule applies), on an array that is not itself a trained leaf, which the caller owns
 * and has just computed (no other array shares its memory, so nothing else sees the change and no element aliases
 * another). Everywhere else, in training or when the symbols are missing, it is DJL's operation with the input
 * closed: the same values either way (both are libtorch's kernels on the same elements).
 */
public final class InPlace {
  private static final Logger LOG = LoggerFactory.getLogger(InPlace.class);

  /** {@code at::Tensor& at::_ops::relu_::call(at::Tensor&)} and sigmoid_'s (PyTorch 2.x operator entry points). */
  private static final String RELU = "_ZN2at4_ops5relu_4callERNS_6TensorE";

  private static final String SIGMOID = "_ZN2at4_ops8sigmoid_4callERNS_6TensorE";

  private static volatile Functions functions;

  private InPlace() {}

  private record Functions(Function relu, Function sigmoid) {}

  /**
   * relu(x), consuming {@code x}: the result is {@code x} itself, rectified in place, or (see the class comment) a new
   * array with {@code x} closed. {@code x} must be a fresh result its caller owns.
   */
  public static NDArray relu(NDArray x) {
    return apply(x, Functions::relu, Activation::relu);
  }

  /** sigmoid(x), consuming {@code x}, as {@link #relu}. */
  public static NDArray sigmoid(NDArray x) {
    return apply(x, Functions::sigmoid, Activation::sigmoid);
  }

  private static NDArray apply(
      NDArray x, java.util.function.Function<Functions, Function> inPlace, java.util.function.UnaryOperator<NDArray> djl) {
    Functions f = native_(x);
    if (f == null) {
      NDArray out = djl.apply(x);
      x.close();
      return out;
    }
    inPlace.apply(f).invoke(Pointer.class, new Object[] {handle(x)});
    return x;
  }

  /**
   * Whether {@code x}, a fresh result its caller owns, may be overwritten (by these functions or DJL's in-place
   * arithmetic): autograd records nothing on this thread and {@code x} is not a trained leaf. (DJL's {@code
   * hasGradient} alone is false for every computed array, even one autograd tracks.)
   */
  static boolean mayWrite(NDArray x) {
    return !JniUtils.isGradMode() && !x.hasGradient();
  }

  private static Pointer handle(NDArray x) {
    return new Pointer(((PtNDArray) x).getHandle());
  }

  /** The native functions if {@code x} may be changed in place by them, else null. */
  private static Functions native_(NDArray x) {
    if (!(x instanceof PtNDArray) || !mayWrite(x)) {
      return null;
    }
    Functions f = functions;
    if (f == null) {
      synchronized (InPlace.class) {
        f = functions;
        if (f == null) {
          f = load();
          functions = f;
        }
      }
    }
    return f.relu() == null ? null : f;
  }

  private static Functions load() {
    Engine.getEngine("PyTorch");
    Path lib = LibTorch.torchCpu();
    try {
      NativeLibrary torch = NativeLibrary.getInstance(lib.toString());
      return new Functions(torch.getFunction(RELU), torch.getFunction(SIGMOID));
    } catch (UnsatisfiedLinkError e) {
      LOG.debug("in-place activations unavailable ({}): out of place", e.getMessage());
      return new Functions(null, null);
    }
  }
}
