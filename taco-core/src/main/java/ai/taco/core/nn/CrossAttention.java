package ai.taco.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * nn.MultiheadAttention(dim, heads, batch_first=True) used for cross-attention (query ≠ key = value), no masks, no
 * dropout: packed {@code <prefix>.in_proj_weight} [3·dim, dim] / {@code in_proj_bias} [3·dim] (q, k, v rows in that
 * order) and {@code <prefix>.out_proj.{weight,bias}}. Each head: softmax(q·kᵀ/sqrt(dim/heads))·v.
 */
public final class CrossAttention {
  private final NamedParameters params;
  private final String inWeight;
  private final String inBias;
  private final Dense outProj;
  private final int dim;
  private final int heads;

  public CrossAttention(NamedParameters params, String prefix, int dim, int heads) {
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
   * twice, so that neither the keys and values of all tokens nor the scores [B, heads, L, S] ever exist at once (at
   * 100 MP the Extractor's scores alone were 1.9 GB): memory holds one chunk and its scores. With one chunk the
   * operations are those of {@link #forward(NDArray, NDArray)}, the chunk computed once. With more, the softmax is
   * taken in two passes: the first keeps each chunk's row maximum m and sum of exp(s − m); the second weighs each
   * chunk's values by exp(s − M) / Σ (M the maximum over all chunks, the sum rescaled to it) and adds them up; the same
   * values up to float summation order.
   *
   * <p>Under reduced precision (the Extractor: few queries, the caption's, attending to many image tokens) the keys and
   * values are folded into the queries instead of computed: per head q·kᵀ = (q·Wk)·xᵀ + q·bk, and the second term is
   * the same for every token, so it leaves the softmax unchanged and is dropped; and P·v = (P·x)·Wvᵀ + bv, since each
   * row of P sums to 1. Each token then costs two products with [heads·L, dim] (2·heads·L·dim multiply-adds, 608·512
   * for the Extractor) instead of its key and value projections (2·dim², 2·512²), both in the reduced precision. The
   * same function in another summation order; float32 keeps the official order, on which the bitstreams depend.
   */
  public NDArray forward(NDArray query, int chunks, java.util.function.IntFunction<NDArray> keyValueChunk) {
    return forward(query, chunks, keyValueChunk, ReducedPrecision.active() != ai.taco.core.tensor.Precision.FP32);
  }

  /** As {@link #forward(NDArray, int, java.util.function.IntFunction)}, folded or not as asked (tests: both ways). */
  NDArray forward(
      NDArray query, int chunks, java.util.function.IntFunction<NDArray> keyValueChunk, boolean folded) {
    NDArray w = params.get(inWeight);
    NDArray b = params.get(inBias);
    long batch = query.getShape().get(0);
    long len = query.getShape().get(1);
    int headDim = dim / heads;
    NDArray q = ai.djl.nn.core.Linear.linear(query, w.get("0:" + dim), b.get("0:" + dim)).singletonOrThrow();
    NDArray qs = Scalars.mul(q.reshape(batch, len, heads, headDim).transpose(0, 2, 1, 3), 1.0 / Math.sqrt(headDim));
    java.util.function.Function<NDArray, NDArray> scores;
    java.util.function.BiFunction<NDArray, NDArray, NDArray> weighted;
    if (folded) {
      // [B, heads·L, dim]: row h·L+l is q_hl·Wk_h (scaled); scores and the weighted sum over tokens are products
      // with the tokens themselves.
      NDArray qk = qs.matMul(w.get(dim + ":" + 2 * dim).reshape(heads, headDim, dim)).reshape(batch, heads * len, dim);
      NDArray qkT = qk.transpose(0, 2, 1);
      // tokens·qkᵀ, then transposed: the tokens as the product's left operand, read in their own row order (the
      // product with their transposed view ran at half the speed, 12 against 6 ms for the Extractor on kodim01).
      scores = kv -> ReducedPrecision.matMul(kv, qkT).transpose(0, 2, 1).reshape(batch, heads, len, -1);
      weighted = (kv, attn) -> ReducedPrecision.matMul(attn.reshape(batch, heads * len, -1), kv)
          .reshape(batch, heads, len, dim);
    } else {
      scores = kv -> {
        long src = kv.getShape().get(1);
        // Keys and values of image tokens (the Extractor's): wide products.
        NDArray k = ReducedPrecision.linear(kv, w.get(dim + ":" + 2 * dim), b.get(dim + ":" + 2 * dim));
        return qs.matMul(k.reshape(batch, src, heads, headDim).transpose(0, 2, 3, 1));
      };
      weighted = (kv, attn) -> {
        long src = kv.getShape().get(1);
        NDArray v = ReducedPrecision.linear(kv, w.get(2 * dim + ":"), b.get(2 * dim + ":"));
        return attn.matMul(v.reshape(batch, src, heads, headDim).transpose(0, 2, 1, 3));
      };
    }
    NDArray o;
    if (chunks == 1) {
      o = Scoped.step(() -> {
        NDArray kv = keyValueChunk.apply(0);
        return weighted.apply(kv, scores.apply(kv).softmax(-1));
      });
    } else {
      // Pass 1: per chunk, the row maximum and the sum of exp(s - maximum), as [B, heads, L, 2].
      ai.djl.ndarray.NDList stats = new ai.djl.ndarray.NDList();
      for (int c = 0; c < chunks; c++) {
        int chunk = c;
        stats.add(Scoped.step(() -> {
          NDArray s = scores.apply(keyValueChunk.apply(chunk));
          NDArray max = s.max(new int[] {-1}, true);
          return max.concat(s.sub(max).exp().sum(new int[] {-1}, true), -1);
        }));
      }
      NDArray all = ai.djl.ndarray.NDArrays.concat(stats, -1).reshape(batch, heads, len, chunks, 2);
      stats.close();
      NDArray maxima = all.get(":, :, :, :, 0");
      NDArray max = maxima.max(new int[] {-1}, true);
      // torch's softmax multiplies by the reciprocal of the sum.
      NDArray sum = all.get(":, :, :, :, 1").mul(maxima.sub(max).exp()).sum(new int[] {-1}, true);
      NDArray inverse = Scalars.of(sum, 1.0).div(sum);
      // Pass 2: each chunk's values weighted by its softmax probabilities, added up.
      o = null;
      for (int c = 0; c < chunks; c++) {
        int chunk = c;
        NDArray part = Scoped.step(() -> {
          NDArray kv = keyValueChunk.apply(chunk);
          return weighted.apply(kv, scores.apply(kv).sub(max).exp().mul(inverse));
        });
        if (o == null) {
          o = part;
        } else {
          o.addi(part);
          part.close();
        }
      }
    }
    if (folded) {
      // (P·x)·Wv_hᵀ + bv_h per head: [B, heads, L, dim] -> [B, heads, L, headDim].
      NDArray wv = w.get(2 * dim + ":").reshape(heads, headDim, dim).transpose(0, 2, 1);
      o = o.matMul(wv).add(b.get(2 * dim + ":").reshape(1, heads, 1, headDim));
    }
    return outProj.forward(o.transpose(0, 2, 1, 3).reshape(new Shape(batch, len, dim)));
  }

  /** query [B, L, dim], keyValue [B, S, dim] -> [B, L, dim]. */
  public NDArray forward(NDArray query, NDArray keyValue) {
    NDArray w = params.get(inWeight);
    NDArray b = params.get(inBias);
    // In the active precision (the Extractor's image tokens under bf16; the Injector folds instead, foldedForward).
    NDArray q = ReducedPrecision.linear(query, w.get("0:" + dim), b.get("0:" + dim));
    NDArray k = ReducedPrecision.linear(keyValue, w.get(dim + ":" + 2 * dim), b.get(dim + ":" + 2 * dim));
    NDArray v = ReducedPrecision.linear(keyValue, w.get(2 * dim + ":"), b.get(2 * dim + ":"));
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

  /**
   * {@code forward(query, keyValue)} times {@code gamma} (per output channel), with the few key/value tokens folded
   * into the weights: for many queries (image positions) attending to few tokens (the caption's), the scores of every
   * head are one product with [heads·S, dim] weights and the output one product with [dim, heads·S] weights, because
   * per head q·kᵀ = (x·Wqᵀ + bq)·kᵀ = x·(k·Wq)ᵀ + bq·kᵀ and P·v·Woᵀ = P·(v·Wo_headᵀ). Two dense products replace the
   * projections, the per-head products over 24-wide heads and their transposed copies; both run in the active
   * precision ({@link ReducedPrecision#linear}), the softmax in float32. The same function as {@link #forward(NDArray,
   * NDArray)}, in another summation order: only reduced precision uses it (float32 keeps the official order, on which
   * the bitstreams depend).
   *
   * @param query [B, L, dim]
   * @param keyValue [B, S, dim]
   * @param gamma [dim], the Injector's scale of the attention output
   */
  NDArray foldedForward(NDArray query, NDArray keyValue, NDArray gamma) {
    return foldedForward(query, fold(keyValue, gamma));
  }

  /** The few key/value tokens of {@link #foldedForward} folded into its two dense weights and their biases. */
  record Folded(NDArray scoreW, NDArray scoreB, NDArray outW, NDArray outB, long src) {}

  /**
   * The weights of {@link #foldedForward} for {@code keyValue} [B, S, dim] and {@code gamma} [dim]: computed once per
   * caption, for every band of image positions that attends to it.
   */
  Folded fold(NDArray keyValue, NDArray gamma) {
    NDArray w = params.get(inWeight);
    NDArray b = params.get(inBias);
    long batch = keyValue.getShape().get(0);
    long src = keyValue.getShape().get(1);
    int headDim = dim / heads;
    double scale = 1.0 / Math.sqrt(headDim);
    NDArray k = ai.djl.nn.core.Linear.linear(keyValue, w.get(dim + ":" + 2 * dim), b.get(dim + ":" + 2 * dim))
        .singletonOrThrow();
    NDArray v = ai.djl.nn.core.Linear.linear(keyValue, w.get(2 * dim + ":"), b.get(2 * dim + ":")).singletonOrThrow();
    // Scores' weights [B, heads·S, dim] (row h·S+s: k_hs·Wq_h, scaled) and bias [B, heads·S] (k_hs·bq_h, scaled).
    NDArray kh = k.reshape(batch, src, heads, headDim).transpose(0, 2, 1, 3);
    NDArray scoreW = Scalars.mul(kh.matMul(w.get("0:" + dim).reshape(heads, headDim, dim)), scale)
        .reshape(batch, heads * src, dim);
    NDArray scoreB = Scalars.mul(kh.matMul(b.get("0:" + dim).reshape(heads, headDim, 1)), scale)
        .reshape(batch, heads * src);
    // Output weights [B, dim, heads·S] (column h·S+s: Wo_h·v_hs, i.e. v_h·Wo_hᵀ transposed) and bias, times gamma.
    NDArray woHeads = outProj.weight().reshape(dim, heads, headDim).transpose(1, 0, 2);
    NDArray outW = woHeads.matMul(v.reshape(batch, src, heads, headDim).transpose(0, 2, 3, 1))
        .transpose(0, 2, 1, 3).reshape(batch, dim, heads * src).mul(gamma.reshape(1, dim, 1));
    NDArray outB = outProj.bias().mul(gamma);
    return new Folded(scoreW, scoreB, outW, outB, src);
  }

  /**
   * A caption's {@link Folded} weights as bfloat16 operands of one batch item's products ({@link #reducedForward}):
   * the score weights transposed [dim, heads·S] with their bias [heads·S], and the output weights transposed [heads·S,
   * dim] with the output bias spread over them: each head's probabilities sum to 1, so bias/heads added to each of a
   * head's S rows adds bias/heads per head, the bias once over all heads.
   */
  record ReducedFold(NDArray scoreWt, NDArray scoreB, NDArray outWt, long src) {}

  /** {@code f} for {@link #reducedForward} (batch item {@code i}), its arrays in {@code f}'s manager. */
  ReducedFold reduce(Folded f, long i) {
    ai.djl.ndarray.NDManager m = f.scoreW().getManager();
    NDArray scoreWt = OneDnn.bfloat16(f.scoreW().get(i).transpose(), m);
    NDArray scoreB = OneDnn.bfloat16(f.scoreB().get(i), m);
    NDArray outW = f.outW().get(i).add(f.outB().div(heads).reshape(dim, 1));
    NDArray outWt = OneDnn.bfloat16(outW.transpose(), m);
    outW.close();
    return new ReducedFold(scoreWt, scoreB, outWt, f.src());
  }

  /**
   * {@code xn + attention(xn)} for normalised tokens {@code xn} [L, dim] of the reduced stream, every operation in
   * bfloat16 ({@link OneDnn}): the scores with their bias in one product, the softmax, and the output product added
   * onto {@code xn} itself (the Injector's residual); a new [L, dim] array. The products round once, as {@link
   * #foldedForward}'s do, and its float32 softmax read bfloat16 scores and fed a bfloat16 product too, so this route
   * rounds where that one did, without the float32 passes between. Null if libtorch refused an operation.
   */
  NDArray reducedForward(NDArray xn, ReducedFold r) {
    long len = xn.getShape().get(0);
    NDArray scores = OneDnn.addmm(r.scoreB(), xn, r.scoreWt());
    if (scores == null) {
      return null;
    }
    NDArray p = OneDnn.softmax(scores.reshape(len, heads, r.src()), 2);
    scores.close();
    if (p == null) {
      return null;
    }
    NDArray out = OneDnn.addmm(xn, p.reshape(len, heads * r.src()), r.outWt());
    p.close();
    return out;
  }

  /** {@link #foldedForward(NDArray, NDArray, NDArray)} with its weights already {@link #fold folded}. */
  NDArray foldedForward(NDArray query, Folded f) {
    long batch = query.getShape().get(0);
    long len = query.getShape().get(1);
    ai.djl.ndarray.NDList rows = new ai.djl.ndarray.NDList();
    for (long i = 0; i < batch; i++) {
      NDArray x = query.get(i);
      NDArray sw = f.scoreW().get(i);
      NDArray sb = f.scoreB().get(i);
      NDArray ow = f.outW().get(i);
      rows.add(Scoped.step(() -> {
        NDArray p = ReducedPrecision.linear(x, sw, sb).reshape(len, heads, f.src()).softmax(-1);
        return ReducedPrecision.linear(p.reshape(len, heads * f.src()), ow, f.outB());
      }));
    }
    return batch == 1 ? rows.get(0).expandDims(0) : ai.djl.ndarray.NDArrays.stack(rows);
  }
}
