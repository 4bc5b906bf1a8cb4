package ai.taco.core.transform;

import ai.djl.ndarray.NDArray;
import ai.taco.core.nn.AttentionBlock;
import ai.taco.core.nn.ChannelsLast;
import ai.taco.core.nn.Conv;
import ai.taco.core.nn.Extractor;
import ai.taco.core.nn.Injector;
import ai.taco.core.nn.Layer;
import ai.taco.core.nn.NamedParameters;
import ai.taco.core.nn.ReducedPrecision;
import ai.taco.core.nn.ResidualBottleneck;
import ai.taco.core.nn.Scoped;
import java.util.List;
import java.util.function.Consumer;

/**
 * gA, the text-guided analysis transform (official {@code AnalysisTransformEX}): x [B,3,H,W] + caption features
 * [B,T,textDim] → y [B,M,H/16,W/16]. Parameters under {@code g_a.analysis_transform.<i>}; the 18 steps are
 *
 * <pre>
 *  0 conv5×5/2(3→N)   1-3 ResidualBottleneck   4 conv5×5/2   5-7 ResidualBottleneck   8 Injector   9 AttentionBlock
 * 10 conv5×5/2        11-13 ResidualBottleneck  14 Extractor (updates the text)  15 Injector  16 conv5×5/2(N→M)
 * 17 AttentionBlock(M)
 * </pre>
 */
public final class AnalysisTransform {
  private static final Consumer<String> NO_STEPS = step -> {};
  private static final String PREFIX = "g_a.analysis_transform.";
  private final Object[] steps = new Object[18];
  private final String[] stepNames = new String[steps.length];

  public AnalysisTransform(NamedParameters p, int n, int m, int textDim, int heads) {
    // Constructed in index order: declaration order is the official state-dict order.
    for (int i = 0; i < steps.length; i++) {
      String name = PREFIX + i;
      steps[i] =
          switch (i) {
            case 0 -> Conv.down(p, name, 3, n);
            case 4, 10 -> Conv.down(p, name, n, n);
            case 8, 15 -> new Injector(p, name, n, textDim, heads);
            case 9 -> new AttentionBlock(p, name, n);
            case 14 -> new Extractor(p, name, n, textDim, heads);
            case 16 -> Conv.down(p, name, n, m);
            case 17 -> new AttentionBlock(p, name, m);
            default -> new ResidualBottleneck(p, name, n);
          };
      stepNames[i] = "gA." + i + " " + steps[i].getClass().getSimpleName();
    }
  }

  public NDArray forward(NDArray x, NDArray text) {
    return forward(x, text, null, NO_STEPS);
  }

  /**
   * As {@link #forward(NDArray, NDArray)}, telling {@code observer} the name of each step as it
   * finishes (e.g. {@code gA.4 Conv}; per-layer profiling).
   */
  public NDArray forward(NDArray x, NDArray text, Consumer<String> observer) {
    return forward(x, text, null, observer);
  }

  /** As {@link #forward(NDArray, NDArray)}, appending every step's output to {@code trace} (step 14: the text). */
  public NDArray forward(NDArray x, NDArray text, List<NDArray> trace) {
    return forward(x, text, trace, NO_STEPS);
  }

  private NDArray forward(NDArray x, NDArray text, List<NDArray> trace, Consumer<String> observer) {
    NDArray inputText = text;
    x = ChannelsLast.of(x);
    for (int i = 0; i < steps.length; i++) {
      Object step = steps[i];
      NDArray image = x;
      NDArray caption = text;
      // The blocks may hand on a map of the reduced stream; the text adapters read it as it is (their first operations,
      // a LayerNorm and a product, compute in float32 and in the reduced precision) and return float32.
      if (step instanceof Injector inj) {
        x = Scoped.step(() -> inj.forward(image, caption));
        record(trace, x);
      } else if (step instanceof Extractor ext) {
        // Under reduced precision in its folded form (one chunk: every position at once), as the tiled path runs it;
        // float32 keeps the official operations.
        text = Scoped.step(() -> ReducedPrecision.active() == ai.taco.core.tensor.Precision.FP32
            ? ext.forward(caption, image)
            : ext.forward(caption, image, Integer.MAX_VALUE));
        record(trace, text);
      } else {
        // After the first step the map is this loop's own (nothing else reads it unless traced): a layer may write
        // into it (Layer#forwardConsuming).
        boolean own = i > 0 && trace == null;
        x = Scoped.step(() -> own ? ((Layer) step).forwardConsuming(image) : ((Layer) step).forward(image));
        record(trace, x);
      }
      if (trace == null) {
        // Consumed feature maps go at once: a full-size image would otherwise hold every step's output to the end.
        Scoped.release(image, x, null);
        Scoped.release(caption, text, inputText);
      }
      observer.accept(stepNames[i]);
    }
    return toFloat32(x, null);
  }

  /** {@code x} as float32, freeing a reduced-precision {@code x} unless it is the caller's {@code input}. */
  static NDArray toFloat32(NDArray x, NDArray input) {
    if (!ReducedPrecision.isReduced(x)) {
      return x;
    }
    NDArray out = Scoped.step(() -> ReducedPrecision.float32(x));
    Scoped.release(x, out, input);
    return out;
  }

  /** Index of the Extractor, the one step that reads the whole feature map (text queries attend to every position). */
  static final int EXTRACTOR = 14;

  /**
   * Steps {@code [from, to)} (none of them the Extractor) on a feature map or a crop of one, Injectors taking about
   * {@code injectorTokens} positions at a time; {@code x} itself is left to the caller. For {@link TiledAnalysis},
   * which copies the result into its maps ({@link Tiles#put}): under reduced precision the result may still be a map of
   * the reduced residual stream, copied into a map of that stream or converted by the copy into a float32 one.
   */
  NDArray image(int from, int to, NDArray x, NDArray text, int injectorTokens, Consumer<String> observer) {
    NDArray out = ChannelsLast.of(x);
    for (int i = from; i < to; i++) {
      Object step = steps[i];
      NDArray image = out;
      if (step instanceof Injector inj) {
        out = Scoped.step(() -> injectInBands(inj, image, text, injectorTokens));
      } else if (step instanceof Layer l) {
        // The first step reads the caller's map (or a view of a larger one); later ones a map of this loop's own.
        boolean own = i > from;
        out = Scoped.step(() -> own ? l.forwardConsuming(image) : l.forward(image));
      } else {
        throw new IllegalArgumentException("step " + i + " is not local");
      }
      Scoped.release(image, out, x);
      observer.accept(stepNames[i]);
    }
    return out;
  }

  /**
   * An Injector over bands of rows of about {@code tokens} positions: each position attends to the caption on its own
   * (per-position LayerNorm and queries), so the bands give the values of one whole-map call. Whole, the attention
   * scores and normalised copies of a tile's 1/4 map were the largest allocation of tiled gA (0.5 GB for a
   * 1024-pixel tile).
   */
  private static NDArray injectInBands(Injector inj, NDArray image, NDArray text, int tokens) {
    long h = image.getShape().get(2);
    long w = image.getShape().get(3);
    long rows = Math.max(1, tokens / w);
    if (rows >= h) {
      return inj.forward(image, text);
    }
    NDArray out = Tiles.allocateStream(image, image.getShape().get(1), h, w);
    Tiles.Span cols = new Tiles.Span(0, (int) w);
    Injector.Caption caption = inj.caption(text);
    for (Tiles.Span band : Tiles.split(new Tiles.Span(0, (int) h), (int) rows)) {
      NDArray part = Scoped.step(() -> inj.forward(ChannelsLast.of(Tiles.crop(image, band, cols)), caption));
      Tiles.put(out, band, cols, part);
      part.close();
    }
    return out;
  }

  /**
   * The Extractor (step 14): the caption features updated from the whole step-13 map, its positions taken {@code
   * chunkTokens} at a time.
   */
  NDArray extract(NDArray text, NDArray image, int chunkTokens, Consumer<String> observer) {
    NDArray out = Scoped.step(() -> ((Extractor) steps[EXTRACTOR]).forward(text, image, chunkTokens));
    observer.accept(stepNames[EXTRACTOR]);
    return out;
  }

  int steps() {
    return steps.length;
  }

  static void record(List<NDArray> trace, NDArray a) {
    if (trace != null) {
      trace.add(a);
    }
  }
}
