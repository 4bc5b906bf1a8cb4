package ai.taco.core.transform;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import ai.taco.core.nn.Conv;
import ai.taco.core.nn.NamedParameters;

/**
 * Channel context of slice i > 0 (official {@code ChannelContextEX}): the already decoded slices ŷ_{<i} → 2·C_i
 * channels through three 5×5 convolutions (widths 224 and 128 are fixed in the official code, whatever N and M).
 * Parameters {@code channel_context.<i>.fushion.{0,2,4}.*} (sic: "fushion" is the official spelling).
 */
public final class ChannelContext {
  /** Hidden widths hard-coded in modules/transform/context.py. */
  private static final int HIDDEN1 = 224;

  private static final int HIDDEN2 = 128;

  private final Conv c0;
  private final Conv c2;
  private final Conv c4;

  public ChannelContext(NamedParameters p, String prefix, int in, int out) {
    c0 = new Conv(p, prefix + ".fushion.0", in, HIDDEN1, 5, 1);
    c2 = new Conv(p, prefix + ".fushion.2", HIDDEN1, HIDDEN2, 5, 1);
    c4 = new Conv(p, prefix + ".fushion.4", HIDDEN2, out, 5, 1);
  }

  public NDArray forward(NDArray decodedSlices) {
    NDArray x = Activation.relu(c0.forward(decodedSlices));
    x = Activation.relu(c2.forward(x));
    return c4.forward(x);
  }
}
