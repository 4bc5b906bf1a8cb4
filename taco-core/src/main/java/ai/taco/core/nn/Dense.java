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

  /** In the active precision ({@link ReducedPrecision#linear}): float32 outside gA/gS, and under fp32 always. */
  public NDArray forward(NDArray x) {
    return ReducedPrecision.linear(x, weight(), bias());
  }
}
