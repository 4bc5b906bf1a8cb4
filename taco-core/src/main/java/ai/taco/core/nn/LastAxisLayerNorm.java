package ai.taco.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/** torch.nn.LayerNorm over the last axis (eps 1e-5, torch's default): {@code <prefix>.weight}, {@code <prefix>.bias} [dim]. */
public final class LastAxisLayerNorm {
  /** torch.nn.LayerNorm default eps. */
  private static final float EPS = 1e-5f;

  private final NamedParameters params;
  private final String weight;
  private final String bias;
  private final int dim;

  public LastAxisLayerNorm(NamedParameters params, String prefix, int dim) {
    this.params = params;
    this.weight = prefix + ".weight";
    this.bias = prefix + ".bias";
    this.dim = dim;
    params.declare(weight, new long[] {dim}, new Init.Constant(1));
    params.declare(bias, new long[] {dim}, new Init.Constant(0));
  }

  public NDArray forward(NDArray x) {
    return ai.djl.nn.norm.LayerNorm.layerNorm(x, new Shape(dim), params.get(weight), params.get(bias), EPS)
        .singletonOrThrow();
  }
}
