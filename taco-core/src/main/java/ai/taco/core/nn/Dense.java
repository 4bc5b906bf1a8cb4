package ai.taco.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.core.Linear;

/** nn.Linear: {@code <prefix>.weight} [out, in], {@code <prefix>.bias} [out]; y = x·Wᵀ + b on the last axis. */
public final class Dense {
  private final ParameterStore params;
  private final String weight;
  private final String bias;

  /** torch's default init (U(±1/sqrt(in)) for weight and bias), or {@code weightInit} when given. */
  public Dense(ParameterStore params, String prefix, int in, int out, Init weightInit, Init biasInit) {
    this.params = params;
    this.weight = prefix + ".weight";
    this.bias = prefix + ".bias";
    params.declare(weight, new long[] {out, in}, weightInit != null ? weightInit : Init.Uniform.torchDefault(in));
    params.declare(bias, new long[] {out}, biasInit != null ? biasInit : Init.Uniform.torchDefault(in));
  }

  public NDArray forward(NDArray x) {
    return Linear.linear(x, params.get(weight), params.get(bias)).singletonOrThrow();
  }
}
