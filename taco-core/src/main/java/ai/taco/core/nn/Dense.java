package ai.taco.core.nn;

import ai.djl.ndarray.NDArray;

/** nn.Linear: {@code <prefix>.weight} [out, in], {@code <prefix>.bias} [out]; y = x·Wᵀ + b on the last axis. */
public final class Dense {
  private final NamedParameters params;
  private final String weight;
  private final String bias;

  /** torch's default init (U(±1/sqrt(in)) for weight and bias), or {@code weightInit} when given. */
  public Dense(NamedParameters params, String prefix, int in, int out, Init weightInit, Init biasInit) {
    this.params = params;
    this.weight = prefix + ".weight";
    this.bias = prefix + ".bias";
    params.declare(weight, new long[] {out, in}, weightInit != null ? weightInit : Init.Uniform.torchDefault(in));
    params.declare(bias, new long[] {out}, biasInit != null ? biasInit : Init.Uniform.torchDefault(in));
  }

  /** The weight [out, in]. */
  NDArray weight() {
    return params.get(weight);
  }

  /** The bias [out]. */
  NDArray bias() {
    return params.get(bias);
  }

  /**
   * In the active precision ({@link ReducedPrecision#linear}): float32 outside gA/gS, and under fp32 always. In
   * bfloat16 inference (frozen parameters) a map of the reduced stream stays in it: one product with the bias added
   * inside ({@link OneDnn#addmm}) on kept bfloat16 copies, instead of a product rounded to bfloat16 and a float32 pass
   * adding the bias.
   */
  public NDArray forward(NDArray x) {
    if (params.frozen() && ReducedPrecision.isReduced(x) && OneDnn.usable(x)) {
      long[] shape = x.getShape().getShape();
      long in = shape[shape.length - 1];
      NDArray wt = params.cached(weight + "#bf16t", m -> OneDnn.bfloat16(weight().transpose(), m));
      NDArray b = params.bfloat16(bias);
      NDArray y = OneDnn.addmm(b, x.reshape(-1, in), wt);
      if (y != null) {
        shape[shape.length - 1] = wt.getShape().get(1);
        return y.reshape(shape);
      }
    }
    return ReducedPrecision.linear(x, weight(), bias());
  }
}
