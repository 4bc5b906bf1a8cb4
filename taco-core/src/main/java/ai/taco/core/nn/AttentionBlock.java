package ai.taco.core.nn;

import ai.djl.ndarray.NDArray;

/**
 * Simplified attention block of Cheng et al. 2020 as in CompressAI's {@code compressai.layers.AttentionBlock}:
 * x + a(x)·sigmoid(b(x)), where a = three residual units and b = three residual units then a 1×1 conv. A residual unit
 * is relu(x + conv1x1(N/2→N)(relu(conv3x3(relu(conv1x1(N→N/2)(x)))))).
 *
 * <p>Parameters {@code <prefix>.conv_a.{0,1,2}.conv.{0,2,4}.*}, {@code <prefix>.conv_b.{0,1,2}.conv.{0,2,4}.*},
 * {@code <prefix>.conv_b.3.*}.
 */
public final class AttentionBlock implements Layer {
  private final ResidualBottleneck[] trunkA = new ResidualBottleneck[3];
  private final ResidualBottleneck[] trunkB = new ResidualBottleneck[3];
  private final Conv gate;

  public AttentionBlock(NamedParameters params, String prefix, int n) {
    for (int i = 0; i < 3; i++) {
      trunkA[i] = residualUnit(params, prefix + ".conv_a." + i, n);
    }
    for (int i = 0; i < 3; i++) {
      trunkB[i] = residualUnit(params, prefix + ".conv_b." + i, n);
    }
    gate = new Conv(params, prefix + ".conv_b.3", n, n, 1, 1);
  }

  /** relu(x + branch(x)): ELIC's residual bottleneck (same convolutions, same eager frees) with a ReLU on the sum. */
  private static ResidualBottleneck residualUnit(NamedParameters params, String prefix, int n) {
    return ResidualBottleneck.withBranch(params, prefix + ".conv", n);
  }

  @Override
  public NDArray forward(NDArray x) {
    // Under reduced precision the block runs in it throughout (ReducedPrecision#toReduced); x itself under float32.
    NDArray xr = ReducedPrecision.toReduced(x);
    // The gate first, so its trunk is gone before trunk a runs (the branches are independent: same values).
    NDArray b = trunk(trunkB, xr);
    NDArray g = Scoped.step(() -> gate.forward(b, OneDnn.Post.SIGMOID));
    Scoped.release(b, g, xr);
    NDArray a = trunk(trunkA, xr);
    // In place on trunk a's fresh output unless autograd needs it (its last ReLU's backward reads it).
    NDArray gated;
    if (InPlace.mayWrite(a)) {
      gated = a.muli(g);
    } else {
      gated = a.mul(g);
      a.close();
    }
    g.close();
    NDArray out = gated.addi(xr);
    if (xr != x) {
      xr.close();
    }
    return out;
  }

  /**
   * The residual units one after the other, each unit's intermediates (and the consumed input) freed at once; x is
   * read by both trunks and the final sum, the later units' inputs by their unit only.
   */
  private static NDArray trunk(ResidualBottleneck[] units, NDArray x) {
    NDArray h = x;
    for (ResidualBottleneck unit : units) {
      NDArray in = h;
      h = Scoped.step(() -> unit.forward(in, in != x, OneDnn.Post.RELU));
      Scoped.release(in, h, x);
    }
    return h;
  }
}
