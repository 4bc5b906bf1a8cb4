package ai.taco.core.transform;

import ai.djl.ndarray.NDArray;
import ai.taco.core.nn.AttentionBlock;
import ai.taco.core.nn.Layer;
import ai.taco.core.nn.ParameterStore;
import ai.taco.core.nn.ResidualBottleneck;
import ai.taco.core.nn.TransposedConv;
import java.util.List;

/**
 * gS (official {@code SynthesisTransformEX}, no text): ŷ [B,M,h,w] → x̂ [B,3,16h,16w]. Parameters under
 * {@code g_s.synthesis_transform.<i>}:
 *
 * <pre>
 *  0 AttentionBlock(M)  1 deconv(M→N)  2-4 ResidualBottleneck  5 deconv  6 AttentionBlock  7-9 ResidualBottleneck
 * 10 deconv  11-13 ResidualBottleneck  14 deconv(N→3)
 * </pre>
 */
public final class SynthesisTransform {
  private static final String PREFIX = "g_s.synthesis_transform.";
  private final Layer[] steps = new Layer[15];

  public SynthesisTransform(ParameterStore p, int n, int m) {
    steps[0] = new AttentionBlock(p, PREFIX + 0, m);
    steps[1] = TransposedConv.up(p, PREFIX + 1, m, n);
    for (int i : new int[] {2, 3, 4, 7, 8, 9, 11, 12, 13}) {
      steps[i] = new ResidualBottleneck(p, PREFIX + i, n);
    }
    steps[5] = TransposedConv.up(p, PREFIX + 5, n, n);
    steps[6] = new AttentionBlock(p, PREFIX + 6, n);
    steps[10] = TransposedConv.up(p, PREFIX + 10, n, n);
    steps[14] = TransposedConv.up(p, PREFIX + 14, n, 3);
  }

  public NDArray forward(NDArray yHat) {
    return forward(yHat, null);
  }

  public NDArray forward(NDArray yHat, List<NDArray> trace) {
    NDArray x = yHat;
    for (Layer l : steps) {
      x = l.forward(x);
      AnalysisTransform.record(trace, x);
    }
    return x;
  }

  /** The first {@code count} steps and the rest, for timing by stage. */
  Layer[] steps() {
    return steps;
  }
}
