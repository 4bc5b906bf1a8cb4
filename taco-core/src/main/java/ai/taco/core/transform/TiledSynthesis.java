package ai.taco.core.transform;

import ai.djl.ndarray.NDArray;
import ai.taco.core.nn.Scoped;
import ai.taco.core.transform.Tiles.Span;
import java.util.function.Consumer;

/**
 * gS over tiles (edges {@code tile} and {@code subTile} in image pixels, as ai.taco.core.Tiling gives them): the same
 * call shape as {@link SynthesisTransform#forward(NDArray, Consumer)},
 * the same result up to float summation order, with memory bounded by the tile size.
 *
 * <p>gS runs in two stages so the wide halo is paid only at low resolution: the low stage (steps 0-9, ŷ at 1/16 →
 * a map at 1/4) runs once per tile; the high stage (steps 10-14, 1/4 → full resolution, where most multiply-accumulates
 * and all large maps are) runs per sub-tile of it. Each halo is the receptive-field radius of its stage, so every kept
 * output sample sees exactly the inputs it sees untiled:
 *
 * <ul>
 *   <li>high stage, at 1/4: two 5×5/2 transposed convolutions add ⌈r/2⌉+1 each on the way down, three 3×3 residual
 *       bottlenecks 3: r = 0 → 1 → 4 → {@value #HIGH_HALO};
 *   <li>low stage, at 1/16: residual bottlenecks 7-9 and attention block 6 (three 3×3 units per branch) add 3 each,
 *       transposed convolution 5 → 4, bottlenecks 2-4 → 7, transposed convolution 1 → 5, attention block 0 →
 *       {@value #LOW_HALO}.
 * </ul>
 */
public final class TiledSynthesis {
  /** Receptive-field radius of steps 10-14, in positions at 1/4 resolution (see the class comment). */
  static final int HIGH_HALO = 3;
  /** Receptive-field radius of steps 0-9 for an output at 1/4, in positions at 1/16 resolution. */
  static final int LOW_HALO = 8;
  /** gS's last stage starts at step 10, the input of the 1/4 → 1/2 transposed convolution. */
  static final int HIGH_FROM = 10;
  /** Upsampling of each stage: 1/16 → 1/4 and 1/4 → 1. */
  private static final int STAGE_SCALE = 4;

  private TiledSynthesis() {}

  /** x̂ [1,3,16h,16w] from ŷ [1,M,h,w]; untiled when the image fits one sub-tile. */
  public static NDArray forward(SynthesisTransform gS, int tile, int subTile, NDArray yHat, Consumer<String> observer) {
    int h = Math.toIntExact(yHat.getShape().get(2));
    int w = Math.toIntExact(yHat.getShape().get(3));
    int full = STAGE_SCALE * STAGE_SCALE;
    if (Tiles.covers(subTile, (long) full * h, (long) full * w)) {
      return gS.forward(yHat, observer);
    }
    int h4 = STAGE_SCALE * h;
    int w4 = STAGE_SCALE * w;
    NDArray out = null;
    Tiles.Grid tiles = Tiles.grid(new Span(0, h4), new Span(0, w4), tile / STAGE_SCALE,
        HIGH_HALO + STAGE_SCALE * LOW_HALO);
    for (Span rows : tiles.rows()) {
      for (Span cols : tiles.cols()) {
        // The tile's 1/4 map, widened by the high stage's halo, from the low stage on ŷ widened by its own halo.
        Span r4 = rows.expand(HIGH_HALO, h4);
        Span c4 = cols.expand(HIGH_HALO, w4);
        Span r16 = r4.coarser(STAGE_SCALE).expand(LOW_HALO, h);
        Span c16 = c4.coarser(STAGE_SCALE).expand(LOW_HALO, w);
        NDArray low = Scoped.step(() -> {
          NDArray m = gS.steps(0, HIGH_FROM, Tiles.crop(yHat, r16, c16), observer);
          return Tiles.crop(m, r4.minus(STAGE_SCALE * r16.lo()), c4.minus(STAGE_SCALE * c16.lo())).duplicate();
        });
        Tiles.Grid subTiles = Tiles.grid(rows, cols, subTile / STAGE_SCALE, HIGH_HALO);
        for (Span sr : subTiles.rows()) {
          for (Span sc : subTiles.cols()) {
            Span qr = sr.expand(HIGH_HALO, h4);
            Span qc = sc.expand(HIGH_HALO, w4);
            NDArray px = Scoped.step(() -> {
              NDArray x = gS.steps(HIGH_FROM, gS.steps(), Tiles.crop(low, qr.minus(r4.lo()), qc.minus(c4.lo())),
                  observer);
              return Tiles.crop(x, sr.minus(qr.lo()).times(STAGE_SCALE), sc.minus(qc.lo()).times(STAGE_SCALE));
            });
            if (out == null) {
              out = Tiles.allocate(px, px.getShape().get(1), (long) full * h, (long) full * w);
            }
            Tiles.put(out, sr.times(STAGE_SCALE), sc.times(STAGE_SCALE), px);
            px.close();
          }
        }
        low.close();
      }
    }
    return out;
  }
}
