package ai.taco.core.transform;

import ai.djl.ndarray.NDArray;
import ai.taco.core.nn.Conv;
import ai.taco.core.nn.Layer;
import ai.taco.core.nn.NamedParameters;
import ai.taco.core.nn.Scoped;
import java.util.List;

/**
 * hA (official {@code HyperAnalysisEX}): y [B,M,h,w] → z [B,N,h/4,w/4]. {@code h_a.reduction.<i>}: 0 conv3×3(M→N),
 * 1 ReLU, 2 conv5×5/2, 3 ReLU, 4 conv5×5/2.
 */
public final class HyperAnalysis {
  private final Layer[] steps;

  public HyperAnalysis(NamedParameters p, int n, int m) {
    steps =
        new Layer[] {
          new Conv(p, "h_a.reduction.0", m, n, 3, 1),
          Layer.RELU,
          Conv.down(p, "h_a.reduction.2", n, n),
          Layer.RELU,
          Conv.down(p, "h_a.reduction.4", n, n)
        };
  }

  public NDArray forward(NDArray y) {
    return forward(y, null);
  }

  public NDArray forward(NDArray y, List<NDArray> trace) {
    NDArray x = y;
    for (Layer l : steps) {
      NDArray in = x;
      x = Scoped.step(() -> l.forward(in));
      AnalysisTransform.record(trace, x);
      if (trace == null) {
        // Consumed maps go at once: at 7680×4320 the hyper stage otherwise kept 1.4 GB of them to the end of the call.
        Scoped.release(in, x, y);
      }
    }
    return x;
  }
}
