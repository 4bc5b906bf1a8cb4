package ai.taco.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * nn.MultiheadAttention(dim, heads, batch_first=True) used for cross-attention (query ≠ key = value), no masks, no
 * dropout: packed {@code <prefix>.in_proj_weight} [3·dim, dim] / {@code in_proj_bias} [3·dim] (q, k, v rows in that
 * order) and {@code <prefix>.out_proj.{weight,bias}}. Each head: softmax(q·kᵀ/sqrt(dim/heads))·v.
 */
public final class CrossAttention {
  private final ParameterStore params;
  private final String inWeight;
  private final String inBias;
  private final Dense outProj;
  private final int dim;
  private final int heads;

  public CrossAttention(ParameterStore params, String prefix, int dim, int heads) {
    if (dim % heads != 0) {
      throw new IllegalArgumentException("attention width " + dim + " is not divisible by " + heads + " heads");
    }
    this.params = params;
    this.inWeight = prefix + ".in_proj_weight";
    this.inBias = prefix + ".in_proj_bias";
    this.dim = dim;
    this.heads = heads;
    // torch MultiheadAttention._reset_parameters: xavier_uniform_ in_proj_weight, zero biases; out_proj keeps the
    // Linear default weight init.
    params.declare(inWeight, new long[] {3L * dim, dim}, new Init.XavierUniform());
    params.declare(inBias, new long[] {3L * dim}, new Init.Constant(0));
    outProj = new Dense(params, prefix + ".out_proj", dim, dim, null, new Init.Constant(0));
  }

  /** query [B, L, dim], keyValue [B, S, dim] -> [B, L, dim]. */
  public NDArray forward(NDArray query, NDArray keyValue) {
    NDArray w = params.get(inWeight);
    NDArray b = params.get(inBias);
    NDArray q = ai.djl.nn.core.Linear.linear(query, w.get("0:" + dim), b.get("0:" + dim)).singletonOrThrow();
    NDArray k =
        ai.djl.nn.core.Linear.linear(keyValue, w.get(dim + ":" + 2 * dim), b.get(dim + ":" + 2 * dim))
            .singletonOrThrow();
    NDArray v =
        ai.djl.nn.core.Linear.linear(keyValue, w.get(2 * dim + ":"), b.get(2 * dim + ":")).singletonOrThrow();
    long batch = query.getShape().get(0);
    long len = query.getShape().get(1);
    long src = keyValue.getShape().get(1);
    int headDim = dim / heads;
    q = q.reshape(batch, len, heads, headDim).transpose(0, 2, 1, 3);
    k = k.reshape(batch, src, heads, headDim).transpose(0, 2, 3, 1);
    v = v.reshape(batch, src, heads, headDim).transpose(0, 2, 1, 3);
    // torch scales q by 1/sqrt(head_dim) before the product (F._scaled_dot_product_attention).
    NDArray attn = Scalars.mul(q, 1.0 / Math.sqrt(headDim)).matMul(k).softmax(-1);
    NDArray o = attn.matMul(v).transpose(0, 2, 1, 3).reshape(new Shape(batch, len, dim));
    return outProj.forward(o);
  }
}
