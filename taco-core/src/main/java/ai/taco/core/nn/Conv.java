package ai.taco.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import java.util.List;

/**
 * nn.Conv2d with "same" padding k/2 (all TACO convolutions: 5×5 stride 2 downsampling, 3×3 and 1×1 stride 1).
 * Parameters {@code <prefix>.weight} [out, in, k, k] and {@code <prefix>.bias} [out], torch default init.
 */
public final class Conv implements Layer {
  private static final Shape UNIT = new Shape(1, 1);

  private final NamedParameters params;
  private final String weight;
  private final String bias;
  private final Shape stride;
  private final Shape padding;
  private final boolean pointwise;
  private final int inChannels;
  private final int outChannels;
  /** Stride and padding for {@link OneDnn}. */
  private final long[] strides;
  private final long[] paddings;

  public Conv(NamedParameters params, String prefix, int in, int out, int kernel, int stride) {
    this.params = params;
    this.weight = prefix + ".weight";
    this.bias = prefix + ".bias";
    this.stride = new Shape(stride, stride);
    this.padding = new Shape(kernel / 2, kernel / 2);
    this.pointwise = kernel == 1 && stride == 1;
    this.inChannels = in;
    this.outChannels = out;
    this.strides = new long[] {stride, stride};
    this.paddings = new long[] {kernel / 2, kernel / 2};
    long fanIn = (long) in * kernel * kernel;
    params.declare(weight, new long[] {out, in, kernel, kernel}, Init.Uniform.torchDefault(fanIn));
    params.declare(bias, new long[] {out}, Init.Uniform.torchDefault(fanIn));
  }

  /** 5×5 stride-2 convolution, the official {@code conv(in, out)}. */
  public static Conv down(NamedParameters params, String prefix, int in, int out) {
    return new Conv(params, prefix, in, out, 5, 2);
  }

  /**
   * The convolution. Under reduced precision ({@link ReducedPrecision}, inside gA/gS) the result stays in that
   * precision (DJL reports it as UNKNOWN): the transforms carry it from block to block and convert it where a
   * float32 consumer reads it ({@link ReducedPrecision#float32}). Under float32 (everywhere else) it is float32.
   */
  @Override
  public NDArray forward(NDArray x) {
    return forward(x, OneDnn.Post.NONE);
  }

  /**
   * post(conv(x)): under bfloat16 inference one fused oneDNN operation with the kept bfloat16 kernel ({@link OneDnn};
   * autocast would cast the float32 one on every call), otherwise the convolution and the activation in place.
   */
  NDArray forward(NDArray x, OneDnn.Post post) {
    NDArray y = fused(x, post);
    return y != null ? y : post.apply(unfused(x));
  }

  /**
   * post(acc + conv(x)) into {@code acc}'s memory by one fused oneDNN operation ({@link OneDnn}), {@code acc} (a map of
   * the reduced stream that nothing else reads) consumed; null, {@code acc} untouched, where that does not apply (the
   * caller then adds the unfused way).
   */
  NDArray addInto(NDArray x, NDArray acc, OneDnn.Post post) {
    if (!OneDnn.usable(x, inChannels, params) || !ReducedPrecision.isReduced(acc)
        || pointwise && !trustedPointwise(x)) {
      return null;
    }
    // The residual sum's operands must share one type, its bias too.
    return OneDnn.convAddInto(acc, x, params.bfloat16(weight), params.bfloat16(bias), paddings, post);
  }

  /** The fused convolution, or null where it does not apply (or libtorch refused it). */
  private NDArray fused(NDArray x, OneDnn.Post post) {
    if (!OneDnn.usable(x, inChannels, params)) {
      return null;
    }
    if (pointwise) {
      Boolean trusted = OneDnn.trustedPointwise(pointwiseKey(x));
      if (trusted == null) {
        return checkPointwise(x, post);
      }
      if (!trusted) {
        return null;
      }
    }
    return OneDnn.conv(x, params.bfloat16(weight), params.get(bias), strides, paddings, post);
  }

  /** Whether oneDNN's 1×1 kernel may compute this layer on x's shape, checked the first time it comes by. */
  private boolean trustedPointwise(NDArray x) {
    Boolean trusted = OneDnn.trustedPointwise(pointwiseKey(x));
    if (trusted == null) {
      NDArray y = checkPointwise(x, OneDnn.Post.NONE);
      if (y != null) {
        y.close();
      }
      trusted = OneDnn.trustedPointwise(pointwiseKey(x));
    }
    return Boolean.TRUE.equals(trusted);
  }

  /**
   * A new shape of this 1×1 layer: oneDNN's result against the unfused product's (libtorch's oneDNN 1×1 kernels have
   * given wrong values for some shapes, see {@link Pointwise}), on its first and last rows only ({@link
   * OneDnn#CHECK_SLABS}: a 1×1 layer treats each position alone, and a faulty kernel was wrong in whole output
   * channels, so a slab shows it; the whole map checked in float32 had cost 0.5 GB more at 3840×2160); the agreeing
   * result, or the product's.
   */
  private NDArray checkPointwise(NDArray x, OneDnn.Post post) {
    NDArray y = OneDnn.conv(x, params.bfloat16(weight), params.get(bias), strides, paddings, post);
    if (y == null) {
      return null;
    }
    long h = x.getShape().get(2);
    long rows = Math.max(1, (h + OneDnn.CHECK_SLABS - 1) / OneDnn.CHECK_SLABS);
    boolean agree = true;
    for (long start : new long[] {0, Math.max(0, h - rows)}) {
      try (NDScope scope = new NDScope()) {
        String slab = ":, :, " + start + ":" + (start + rows) + ", :";
        agree &= OneDnn.agrees(y.get(slab), post.apply(unfused(x.get(slab))));
      }
    }
    OneDnn.recordPointwise(pointwiseKey(x), agree);
    if (agree) {
      return y;
    }
    y.close();
    return post.apply(unfused(x));
  }

  private List<Long> pointwiseKey(NDArray x) {
    Shape s = x.getShape();
    long threads = JniUtils.getNumThreads();
    return List.of((long) inChannels, (long) outChannels, s.get(0), s.get(2), s.get(3), threads);
  }

  /** The convolution by libtorch's own operations (the float32 route; under bfloat16 through autocast). */
  private NDArray unfused(NDArray x) {
    if (pointwise) {
      // gA's and gS's wide float32 1×1 convolutions: oneDNN at every thread count, once checked (Pointwise).
      return Pointwise.eligible(x, x.getShape().get(1))
          ? Pointwise.conv(x, params.get(weight), params.get(bias), this::matrixProduct)
          : matrixProduct(x);
    }
    return ReducedPrecision.conv2dReduced(x, kernel(x), params.get(bias), stride, padding, UNIT, 1);
  }

  /**
   * The kernel for a convolution of x: in inference (a frozen store) on a channels-last map, a kept channels-last copy,
   * which is what libtorch otherwise converts the kernel into on every such call (9 ms per fp32 encode on kodim01); the
   * same values in the same layout, so the same sums.
   */
  private NDArray kernel(NDArray x) {
    return params.frozen() && OneDnn.channelsLast(x)
        ? params.derived(weight + "#nhwc", () -> ChannelsLast.of(params.get(weight)))
        : params.get(weight);
  }

  /**
   * The 1×1 convolution as a per-pixel linear layer (addmm X·Wᵀ) on the channels-last token view, in the active
   * precision. libtorch's own 1×1 convolution, and a W·X matmul with few output channels, sum in an order that depends
   * on the intra-op thread count (the last bits differ between 1 and 2 threads); X·Wᵀ does not. Checked by
   * DeterminismTest.
   */
  private NDArray matrixProduct(NDArray x) {
    // In a scope of its own so that the returned view is the only handle on the result's storage: a caller closing it
    // frees the memory.
    Shape s = x.getShape();
    return Scoped.step(() -> {
      NDArray tokens = x.transpose(0, 2, 3, 1).reshape(-1, s.get(1));
      NDArray w = params.get(weight).reshape(outChannels, -1);
      NDArray y = ReducedPrecision.linearReduced(tokens, w, params.get(bias));
      return ChannelsLast.image(y, s.get(0), s.get(2), s.get(3));
    });
  }
}
