package ai.taco.core.transform;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import ai.taco.core.nn.Conv;
import ai.taco.core.nn.NamedParameters;

/**
 * Entropy-parameter network (official {@code EntropyParametersEX}): three 1×1 convolutions in → 5·out/3 → 4·out/3 →
 * out (integer division as in Python), ReLU between; output = [scales | means] of one slice's anchor or non-anchor.
 * Parameters {@code <prefix>.fusion.{0,2,4}.*}.
 */
public final class EntropyParameters {
  private final Conv c0;
  private final Conv c2;
  private final Conv c4;

  public EntropyParameters(NamedParameters p, String prefix, int in, int out) {
    int h1 = out * 5 / 3;
    int h2 = out * 4 / 3;
    c0 = new Conv(p, prefix + ".fusion.0", in, h1, 1, 1);
    c2 = new Conv(p, prefix + ".fusion.2", h1, h2, 1, 1);
    c4 = new Conv(p, prefix + ".fusion.4", h2, out, 1, 1);
  }

  public NDArray forward(NDArray x) {
    NDArray h = Activation.relu(c0.forward(x));
    h = Activation.relu(c2.forward(h));
    return c4.forward(h);
  }
}
