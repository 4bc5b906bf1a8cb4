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

  /**
   * As {@link #forward(NDArray, NDArray)} with the key/value tokens supplied in {@code chunks} pieces, each computed
   * twice (once for the scores, once for the weighted sum) so that the keys and values of all tokens never exist at
   * once: memory holds the scores [B, heads, L, S] and one chunk. With one chunk the operations are those of {@link
   * #forward(NDArray, NDArray)}; with more, the weighted sum over S is added chunk by chunk (float summation order).
   */
  public NDArray forward(NDArray query, int chunks, java.util.function.IntFunction<NDArray> keyValueChunk) {
    NDArray w = params.get(inWeight);
    NDArray b = params.get(inBias);
    long batch = query.getShape().get(0);
    long len = query.getShape().get(1);
    int headDim = dim / heads;
    NDArray q = ai.djl.nn.core.Linear.linear(query, w.get("0:" + dim), b.get("0:" + dim)).singletonOrThrow();
    NDArray qs = Scalars.mul(q.reshape(batch, len, heads, headDim).transpose(0, 2, 1, 3), 1.0 / Math.sqrt(headDim));
    ai.djl.ndarray.NDList scores = new ai.djl.ndarray.NDList();
    for (int c = 0; c < chunks; c++) {
      int chunk = c;
      scores.add(Scoped.step(() -> {
        NDArray kv = keyValueChunk.apply(chunk);
        long src = kv.getShape().get(1);
        NDArray k = ai.djl.nn.core.Linear.linear(kv, w.get(dim + ":" + 2 * dim), b.get(dim + ":" + 2 * dim))
            .singletonOrThrow();
        return qs.matMul(k.reshape(batch, src, heads, headDim).transpose(0, 2, 3, 1));
      }));
    }
    NDArray all = scores.size() == 1 ? scores.get(0) : ai.djl.ndarray.NDArrays.concat(scores, -1);
    if (scores.size() > 1) {
      scores.close();
    }
    NDArray attn = all.softmax(-1);
    all.close();
    NDArray o = null;
    long offset = 0;
    for (int c = 0; c < chunks; c++) {
      int chunk = c;
      long from = offset;
      long[] size = new long[1];
      NDArray part = Scoped.step(() -> {
        NDArray kv = keyValueChunk.apply(chunk);
        long src = kv.getShape().get(1);
        size[0] = src;
        NDArray v = ai.djl.nn.core.Linear.linear(kv, w.get(2 * dim + ":"), b.get(2 * dim + ":")).singletonOrThrow();
        NDArray a = chunks == 1 ? attn : attn.get(":, :, :, " + from + ":" + (from + src));
        return a.matMul(v.reshape(batch, src, heads, headDim).transpose(0, 2, 1, 3));
      });
      offset += size[0];
      if (o == null) {
        o = part;
      } else {
        o.addi(part);
        part.close();
      }
    }
    attn.close();
    return outProj.forward(o.transpose(0, 2, 1, 3).reshape(new Shape(batch, len, dim)));
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
