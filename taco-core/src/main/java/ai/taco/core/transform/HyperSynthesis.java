package ai.taco.core.transform;

import ai.djl.ndarray.NDArray;
import ai.taco.core.nn.Layer;
import ai.taco.core.nn.NamedParameters;
import ai.taco.core.nn.Scoped;
import ai.taco.core.nn.TransposedConv;
import java.util.List;

/**
 * hS (official {@code HyperSynthesisEX}): ẑ [B,N,h,w] → hyper parameters [B,2M,4h,4w]. {@code h_s.increase.<i>}:
 * 0 deconv(N→M), 1 ReLU, 2 deconv(M→3M/2), 3 ReLU, 4 deconv3×3/1(3M/2→2M).
 */
public final class HyperSynthesis {
  private final Layer[] steps;

  public HyperSynthesis(NamedParameters p, int n, int m) {
    steps =
        new Layer[] {
          TransposedConv.up(p, "h_s.increase.0", n, m),
          Layer.RELU,
          TransposedConv.up(p, "h_s.increase.2", m, m * 3 / 2),
          Layer.RELU,
          new TransposedConv(p, "h_s.increase.4", m * 3 / 2, m * 2, 3, 1)
        };
  }

  public NDArray forward(NDArray zHat) {
    return forward(zHat, null);
  }

  public NDArray forward(NDArray zHat, List<NDArray> trace) {
    NDArray x = zHat;
    for (Layer l : steps) {
      NDArray in = x;
      x = Scoped.step(() -> l.forward(in));
      AnalysisTransform.record(trace, x);
      if (trace == null) {
        // Consumed maps go at once: at 7680×4320 the hyper stage otherwise kept 1.4 GB of them to the end of the call.
        Scoped.release(in, x, zHat);
      }
    }
    return x;
  }
}
