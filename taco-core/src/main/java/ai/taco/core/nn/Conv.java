package ai.taco.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

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
  private final int outChannels;

  public Conv(NamedParameters params, String prefix, int in, int out, int kernel, int stride) {
    this.params = params;
    this.weight = prefix + ".weight";
    this.bias = prefix + ".bias";
    this.stride = new Shape(stride, stride);
    this.padding = new Shape(kernel / 2, kernel / 2);
    this.pointwise = kernel == 1 && stride == 1;
    this.outChannels = out;
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
    if (pointwise) {
      // gA's and gS's wide float32 1×1 convolutions: oneDNN at every thread count, once checked (Pointwise).
      return Pointwise.eligible(x, x.getShape().get(1))
          ? Pointwise.conv(x, params.get(weight), params.get(bias), this::matrixProduct)
          : matrixProduct(x);
    }
    return ReducedPrecision.conv2dReduced(x, params.get(weight), params.get(bias), stride, padding, UNIT, 1);
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
