package ai.taco.core.transform;

import ai.djl.ndarray.NDArray;
import ai.taco.core.nn.AttentionBlock;
import ai.taco.core.nn.ChannelsLast;
import ai.taco.core.nn.Layer;
import ai.taco.core.nn.NamedParameters;
import ai.taco.core.nn.ResidualBottleneck;
import ai.taco.core.nn.Scoped;
import ai.taco.core.nn.TransposedConv;
import java.util.List;
import java.util.function.Consumer;

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
  private static final Consumer<String> NO_STEPS = step -> {};
  private static final String PREFIX = "g_s.synthesis_transform.";
  private final Layer[] steps = new Layer[15];
  private final String[] stepNames = new String[steps.length];

  public SynthesisTransform(NamedParameters p, int n, int m) {
    // Constructed in index order: declaration order is the official state-dict order.
    for (int i = 0; i < steps.length; i++) {
      String name = PREFIX + i;
      steps[i] =
          switch (i) {
            case 0 -> new AttentionBlock(p, name, m);
            case 1 -> TransposedConv.up(p, name, m, n);
            case 5, 10 -> TransposedConv.up(p, name, n, n);
            case 6 -> new AttentionBlock(p, name, n);
            case 14 -> TransposedConv.up(p, name, n, 3);
            default -> new ResidualBottleneck(p, name, n);
          };
      stepNames[i] = "gS." + i + " " + steps[i].getClass().getSimpleName();
    }
  }

  public NDArray forward(NDArray yHat) {
    return forward(yHat, null, NO_STEPS);
  }

  /**
   * As {@link #forward(NDArray)}, telling {@code observer} the name of each step as it
   * finishes (e.g. {@code gA.4 Conv}; per-layer profiling).
   */
  public NDArray forward(NDArray yHat, Consumer<String> observer) {
    return forward(yHat, null, observer);
  }

  public NDArray forward(NDArray yHat, List<NDArray> trace) {
    return forward(yHat, trace, NO_STEPS);
  }

  /** Steps {@code [from, to)} on a latent or feature map (or a crop of one); {@code x} is left to the caller. */
  NDArray steps(int from, int to, NDArray x, Consumer<String> observer) {
    NDArray out = ChannelsLast.of(x);
    for (int i = from; i < to; i++) {
      Layer l = steps[i];
      NDArray in = out;
      // The first step reads the caller's map (or a view of a larger one); later ones a map of this loop's own.
      boolean own = i > from;
      out = Scoped.step(() -> own ? l.forwardConsuming(in) : l.forward(in));
      Scoped.release(in, out, x);
      observer.accept(stepNames[i]);
    }
    return AnalysisTransform.toFloat32(out, x);
  }

  int steps() {
    return steps.length;
  }

  private NDArray forward(NDArray yHat, List<NDArray> trace, Consumer<String> observer) {
    NDArray x = ChannelsLast.of(yHat);
    for (int i = 0; i < steps.length; i++) {
      Layer l = steps[i];
      NDArray in = x;
      boolean own = i > 0 && trace == null; // see AnalysisTransform
      x = Scoped.step(() -> own ? l.forwardConsuming(in) : l.forward(in));
      AnalysisTransform.record(trace, x);
      if (trace == null) {
        Scoped.release(in, x, null); // see AnalysisTransform
      }
      observer.accept(stepNames[i]);
    }
    return AnalysisTransform.toFloat32(x, null);
  }
}
