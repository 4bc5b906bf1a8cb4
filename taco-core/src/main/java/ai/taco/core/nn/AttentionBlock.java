package ai.taco.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;

/**
 * Simplified attention block of Cheng et al. 2020 as in CompressAI's {@code compressai.layers.AttentionBlock}:
 * x + a(x)·sigmoid(b(x)), where a = three residual units and b = three residual units then a 1×1 conv. A residual unit
 * is relu(x + conv1x1(N/2→N)(relu(conv3x3(relu(conv1x1(N→N/2)(x)))))).
 *
 * <p>Parameters {@code <prefix>.conv_a.{0,1,2}.conv.{0,2,4}.*}, {@code <prefix>.conv_b.{0,1,2}.conv.{0,2,4}.*},
 * {@code <prefix>.conv_b.3.*}.
 */
public final class AttentionBlock implements Layer {
  private final Layer[] trunkA = new Layer[3];
  private final Layer[] trunkB = new Layer[3];
  private final Conv gate;

  public AttentionBlock(ParameterStore params, String prefix, int n) {
    for (int i = 0; i < 3; i++) {
      trunkA[i] = residualUnit(params, prefix + ".conv_a." + i, n);
    }
    for (int i = 0; i < 3; i++) {
      trunkB[i] = residualUnit(params, prefix + ".conv_b." + i, n);
    }
    gate = new Conv(params, prefix + ".conv_b.3", n, n, 1, 1);
  }

  private static Layer residualUnit(ParameterStore params, String prefix, int n) {
    Conv c0 = new Conv(params, prefix + ".conv.0", n, n / 2, 1, 1);
    Conv c2 = new Conv(params, prefix + ".conv.2", n / 2, n / 2, 3, 1);
    Conv c4 = new Conv(params, prefix + ".conv.4", n / 2, n, 1, 1);
    return x -> {
      // Each intermediate closed once consumed, as in ResidualBottleneck (autograd keeps what backward needs): held to
      // the end of the unit they were five maps' worth at once, the largest working set of gS's tiles.
      NDArray r = c0.forward(x);
      NDArray h = Activation.relu(r);
      r.close();
      r = c2.forward(h);
      h.close();
      h = Activation.relu(r);
      r.close();
      r = c4.forward(h).addi(x); // in place: see ResidualBottleneck
      h.close();
      NDArray out = Activation.relu(r);
      r.close();
      return out;
    };
  }

  @Override
  public NDArray forward(NDArray x) {
    // The gate first, so its trunk is gone before trunk a runs (the branches are independent: same values).
    NDArray b = trunk(trunkB, x);
    NDArray g = Scoped.step(() -> Activation.sigmoid(gate.forward(b)));
    Scoped.release(b, g, x);
    NDArray a = trunk(trunkA, x);
    NDArray gated = a.mul(g);
    a.close();
    g.close();
    return gated.addi(x);
  }

  /** The residual units one after the other, each unit's intermediates (and the consumed input) freed at once. */
  private static NDArray trunk(Layer[] units, NDArray x) {
    NDArray h = x;
    for (Layer unit : units) {
      NDArray in = h;
      h = Scoped.step(() -> unit.forward(in));
      Scoped.release(in, h, x);
    }
    return h;
  }
}
