package ai.taco.core.nn;

import ai.djl.ndarray.NDArray;

/**
 * ELIC's residual bottleneck (official modules/layers/res_blk.py): x + conv1x1(N/2→N)(relu(conv3x3(relu(conv1x1(N→N/2)(x))))).
 * Parameters {@code <prefix>.branch.{0,2,4}.{weight,bias}} (indexes 1 and 3 are the ReLUs).
 */
public final class ResidualBottleneck implements Layer {
  private final Conv reduce;
  private final Conv conv;
  private final Conv expand;

  public ResidualBottleneck(NamedParameters params, String prefix, int n) {
    this(params, n, prefix + ".branch");
  }

  /** The same block with its convolutions under {@code <branch>.{0,2,4}} (AttentionBlock's residual units). */
  private ResidualBottleneck(NamedParameters params, int n, String branch) {
    reduce = new Conv(params, branch + ".0", n, n / 2, 1, 1);
    conv = new Conv(params, branch + ".2", n / 2, n / 2, 3, 1);
    expand = new Conv(params, branch + ".4", n / 2, n, 1, 1);
  }

  /** x + branch(x) with the convolutions under {@code <branch>.{0,2,4}}. */
  static ResidualBottleneck withBranch(NamedParameters params, String branch, int n) {
    return new ResidualBottleneck(params, n, branch);
  }

  @Override
  public NDArray forward(NDArray x) {
    return forward(x, false, OneDnn.Post.NONE);
  }

  @Override
  public NDArray forwardConsuming(NDArray x) {
    return forward(x, true, OneDnn.Post.NONE);
  }

  /**
   * post(x + branch(x)); with {@code consume} the caller reads {@code x} no more, so the sum may be written into its
   * memory. (CompressAI's residual unit of the attention blocks is this with post = ReLU.)
   */
  NDArray forward(NDArray x, boolean consume, OneDnn.Post post) {
    // Each intermediate is closed as soon as it is consumed (autograd keeps what backward needs), so at full
    // resolution at most two branch-sized maps are alive at a time.
    // Under reduced precision every map of the block stays in it (ReLU and the next convolution read it as is), the
    // residual sum too: gA/gS carry the reduced stream from block to block (ReducedPrecision#toReduced).
    // Under reduced precision x joins the reduced residual stream (a no-op when it is already in it or under float32).
    NDArray xr = ReducedPrecision.toReduced(x);
    // The ReLUs rectify the fresh convolution outputs: fused into the convolutions under bf16 inference (OneDnn),
    // else in place where they may (InPlace).
    NDArray b = reduce.forward(xr, OneDnn.Post.RELU);
    NDArray c = conv.forward(b, OneDnn.Post.RELU);
    b.close();
    if (consume || xr != x) {
      // x's memory is free to take the sum: bf16 inference sums the last convolution into it as it computes it.
      NDArray sum = expand.addInto(c, xr, post);
      if (sum != null) {
        c.close();
        return sum;
      }
    }
    NDArray out = expand.forward(c);
    c.close();
    // In place on the fresh conv output (its backward needs neither output nor sum): one less feature-map-sized
    // allocation. Same float sum as the official x + branch(x).
    NDArray sum = ReducedPrecision.addResidual(out, xr);
    if (xr != x) {
      xr.close();
    }
    return post.apply(sum);
  }
}
