package ai.taco.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * nn.ConvTranspose2d as the official {@code deconv(in, out, k, s)}: padding k/2, output_padding s-1. DJL's PyTorch
 * engine has no transposed convolution (docs/djl-traps.md), so it is rewritten as ordinary convolutions (both exact
 * against the definition, TransposedConvTest):
 *
 * <ul>
 *   <li>k=5, s=2 (every upsampling layer of gS/hS): each of the 4 output phases (row parity, column parity) is an
 *       ordinary convolution of the input with the taps of that parity (even: w4, w2, w0; odd: w3, w1), so the layer
 *       costs 25 taps per input pixel and never multiplies an inserted zero ({@link #phases}). With few output
 *       channels the four phases go through one 3×3 convolution with 4·out channels whose odd sub-kernels carry a zero
 *       tap, followed by depth-to-space ({@link #polyphase}).
 *   <li>otherwise: the general form (insert s-1 zeros between pixels, pad k-1-p / k-1-p+op, convolve with the flipped
 *       and transposed kernel). For s=1 (hS's last layer) that is just a convolution.
 * </ul>
 *
 * <p>Parameters {@code <prefix>.weight} [in, out, k, k] (torch's transposed layout) and {@code <prefix>.bias} [out].
 */
public final class TransposedConv implements Layer {
  /**
   * Below this many output channels one polyphase convolution (4·out channels) beats four thin per-phase ones: gS's
   * last layer (out = 3) took 30 ms polyphase vs 86 ms phased on kodim01 (docs/performance.md).
   */
  private static final int PHASES_MIN_OUT = 16;

  private final NamedParameters params;
  private final String weight;
  private final String bias;
  private final int in;
  private final int out;
  private final int kernel;
  private final int stride;

  public TransposedConv(NamedParameters params, String prefix, int in, int out, int kernel, int stride) {
    this.params = params;
    this.weight = prefix + ".weight";
    this.bias = prefix + ".bias";
    this.in = in;
    this.out = out;
    this.kernel = kernel;
    this.stride = stride;
    // torch computes fan_in from weight.size(1) * k * k, which for ConvTranspose is out * k * k.
    long fanIn = (long) out * kernel * kernel;
    params.declare(weight, new long[] {in, out, kernel, kernel}, Init.Uniform.torchDefault(fanIn));
    params.declare(bias, new long[] {out}, Init.Uniform.torchDefault(fanIn));
  }

  /** The official {@code deconv(in, out)}: 5×5, stride 2, output_padding 1. */
  public static TransposedConv up(NamedParameters params, String prefix, int in, int out) {
    return new TransposedConv(params, prefix, in, out, 5, 2);
  }

  @Override
  public NDArray forward(NDArray x) {
    if (kernel == 5 && stride == 2) {
      return out >= PHASES_MIN_OUT ? phases(x) : polyphase(x);
    }
    return general(x);
  }

  /**
   * Output pixel (2m+py, 2n+px) sums input rows {m-1, m, m+1} with kernel rows {4, 2, 0} when py = 0 and rows
   * {m, m+1} with kernel rows {3, 1} when py = 1 (columns likewise). In the flipped kernel those are taps 0::2 and
   * 1::2, so each phase is an ordinary convolution with a 3×3, 3×2, 2×3 or 2×2 kernel (25 taps in all, no zeros);
   * a 2-tap side padded by 1 yields one extra leading row/column, which is dropped. The phases are written into
   * one channels-last output.
   */
  private NDArray phases(NDArray x) {
    long n = x.getShape().get(0);
    long h = x.getShape().get(2);
    long wd = x.getShape().get(3);
    boolean fused = OneDnn.usable(x, in, params);
    NDArray outView = null;
    for (int py = 0; py < 2; py++) {
      for (int px = 0; px < 2; px++) {
        String taps = ":, :, " + py + "::2, " + px + "::2";
        String phase = weight + "#phase" + py + px;
        java.util.function.Supplier<NDArray> slice =
            () -> params.get(weight).transpose(1, 0, 2, 3).flip(2, 3).get(taps);
        // bf16 inference convolves with a kept bfloat16 kernel (OneDnn).
        NDArray y = fused
            ? OneDnn.conv(x, params.cached(phase + "#bf16", m -> OneDnn.bfloat16(slice.get(), m)), params.get(bias),
                OneDnn.UNIT, OneDnn.UNIT, OneDnn.Post.NONE)
            : null;
        if (y == null) {
          y = ReducedPrecision.conv2dReduced(x, keptKernel(phase, slice, x), params.get(bias), new Shape(1, 1),
              new Shape(1, 1), new Shape(1, 1), 1);
        }
        if (outView == null) {
          // bf16 inference: an output of the reduced stream, which the next block reads as it is (a float32 output
          // cost a conversion there and twice the bytes here). Otherwise float32 whatever x is: a reduced-precision
          // x (training's residual stream) is never named to DJL, and the copy below converts its phases.
          NDArray low = fused && ReducedPrecision.isReduced(y)
              ? OneDnn.emptyChannelsLast(y, n, out, 2 * h, 2 * wd)
              : null;
          outView = low != null
              ? low
              : x.getManager().create(new Shape(n, 2 * h, 2 * wd, out), DataType.FLOAT32).transpose(0, 3, 1, 2);
        }
        if (py == 1 || px == 1) {
          y = y.get(":, :, " + py + ":, " + px + ":");
        }
        outView.set(new NDIndex(taps), y); // the same parity slice, now of the output
      }
    }
    return outView;
  }

  private NDArray polyphase(NDArray x) {
    NDArray w = params.derived(weight + "#polyphase", this::polyphaseKernel);
    NDArray b = params.derived(bias + "#polyphase", () -> params.get(bias).tile(4));
    NDArray y = ReducedPrecision.conv2d(x, w, b, new Shape(1, 1), new Shape(1, 1), new Shape(1, 1), 1);
    long n = x.getShape().get(0);
    long h = x.getShape().get(2);
    long wd = x.getShape().get(3);
    // channel index = (rowPhase*2 + colPhase)*out + c  ->  [n, out, 2h, 2w]: one interleaving copy into NHWC storage
    // (free views around it when y is channels-last).
    NDArray nhwc = y.transpose(0, 2, 3, 1).reshape(n, h, wd, 2, 2, out).transpose(0, 1, 3, 2, 4, 5);
    return ChannelsLast.image(nhwc.reshape(n, 2 * h, 2 * wd, out), n, 2 * h, 2 * wd);
  }

  /** [4·out, in, 3, 3]: for each phase (py, px), P_py · W[o,i] · P_pxᵀ with the 3×5 tap selectors below. */
  private NDArray polyphaseKernel() {
    NDArray w = params.get(weight); // [in, out, 5, 5]
    NDManager m = w.getManager();
    // Output row 2m+py gathers input rows m-1, m, m+1 (the 3 taps) with kernel rows: py=0 -> 4,2,0; py=1 -> -,3,1.
    float[][] sel = {
      {0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0},
      {0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0}
    };
    NDArray wt = w.transpose(1, 0, 2, 3).reshape(-1, 5, 5); // [out*in, 5, 5]
    NDList phases = new NDList();
    for (int py = 0; py < 2; py++) {
      // libtorch-owned (Constants): matMul saves the selectors for the weight's backward, after gS's Scoped step has
      // closed them; views of a host-buffer array would then read memory the GC freed (NaN gradients at random).
      NDArray rows = Constants.of(m, sel[py], new Shape(3, 5)).toType(w.getDataType(), false);
      for (int px = 0; px < 2; px++) {
        NDArray colsT = Constants.of(m, sel[px], new Shape(3, 5)).toType(w.getDataType(), false).transpose();
        phases.add(wt.matMul(colsT).transpose(0, 2, 1).matMul(rows.transpose()).transpose(0, 2, 1)
            .reshape(out, in, 3, 3));
      }
    }
    return NDArrays.concat(phases, 0);
  }

  private NDArray general(NDArray x) {
    int pad = kernel / 2;
    int outputPadding = stride - 1;
    NDArray z = x;
    if (stride > 1) {
      z = dilate(dilate(x, 2, stride), 3, stride);
    }
    int lo = kernel - 1 - pad;
    int hi = kernel - 1 - pad + outputPadding;
    Shape padding = new Shape(lo, lo);
    if (lo != hi) {
      z = z.pad(new Shape(lo, hi, lo, hi), 0);
      padding = new Shape(0, 0);
    }
    NDArray w = keptKernel(weight + "#flipped", () -> params.get(weight).flip(2, 3).transpose(1, 0, 2, 3), z);
    return ReducedPrecision.conv2d(z, w, params.get(bias), new Shape(1, 1), padding, new Shape(1, 1), 1);
  }

  /**
   * A kernel derived from the parameters (a phase's strided slice, or {@link #general}'s flipped and transposed view):
   * in inference kept once, in the layout of the map {@code in} it convolves (channels-last for a channels-last map,
   * contiguous otherwise), which libtorch would otherwise convert it into on every call (3.6 ms for hS's first layer's
   * 3×3 phase, 2.2 ms of its last layer's 35); in training the derivation itself.
   */
  private NDArray keptKernel(String key, java.util.function.Supplier<NDArray> kernel, NDArray in) {
    if (!params.frozen()) {
      return kernel.get();
    }
    return OneDnn.channelsLast(in)
        ? params.derived(key + "#nhwc", () -> ChannelsLast.of(kernel.get()))
        : params.derived(key, () -> contiguous(kernel.get()));
  }

  /** x as a contiguous array (a copy when it is a strided view). */
  private static NDArray contiguous(NDArray x) {
    return x.reshape(-1).reshape(x.getShape());
  }

  /** Puts s-1 zeros after every element along {@code axis} and drops the trailing ones (length (n-1)·s+1). */
  private static NDArray dilate(NDArray x, int axis, int s) {
    Shape shape = x.getShape();
    long n = shape.get(axis);
    NDArray e = x.expandDims(axis + 1);
    Shape zs = e.getShape().slice(0, axis + 1).addAll(new Shape(s - 1)).addAll(e.getShape().slice(axis + 2));
    NDArray zeros = x.getManager().zeros(zs, x.getDataType());
    NDArray inter = e.concat(zeros, axis + 1);
    long[] newShape = shape.getShape().clone();
    newShape[axis] = n * s;
    NDArray full = inter.reshape(new Shape(newShape));
    StringBuilder idx = new StringBuilder();
    for (int i = 0; i < shape.dimension(); i++) {
      idx.append(i == 0 ? "" : ",").append(i == axis ? ":" + ((n - 1) * s + 1) : ":");
    }
    return full.get(idx.toString());
  }
}
