package ai.taco.core.transform;

import ai.djl.ndarray.NDArray;
import ai.taco.core.nn.Scoped;
import ai.taco.core.transform.Tiles.Span;
import java.util.function.Consumer;

/**
 * gS over tiles (edges {@code tile} and {@code subTile} in image pixels, as ai.taco.core.Tiling gives them): the same
 * call shape as {@link SynthesisTransform#forward(NDArray, Consumer)},
 * the same result up to float summation order, with memory bounded by the tile size. {@link #bands} gives the same
 * floats without ever assembling x̂: the decoder's path, so that not even the output grows with the image.
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

  /**
   * Where {@link #bands} puts x̂: pieces of it at full resolution, in the coordinates of the padded image, grouped in
   * horizontal bands that cover the image top to bottom, each band's pieces covering it exactly once.
   */
  public interface Output {
    /** Rows {@code [top, bottom)} come next; every piece until {@link #endBand()} lies within them. */
    void beginBand(int top, int bottom);

    /**
     * A piece [1,3,r,c] of x̂ with its first row and column at {@code top}, {@code left}: copy what is needed, it is
     * freed when this returns.
     */
    void piece(int top, int left, NDArray piece);

    /** The band is complete: no later piece touches its rows. */
    void endBand();
  }

  /** x̂ [1,3,16h,16w] from ŷ [1,M,h,w]; untiled when the image fits one sub-tile. */
  public static NDArray forward(SynthesisTransform gS, int tile, int subTile, NDArray yHat, Consumer<String> observer) {
    int h = Math.toIntExact(yHat.getShape().get(2));
    int w = Math.toIntExact(yHat.getShape().get(3));
    int full = STAGE_SCALE * STAGE_SCALE;
    if (Tiles.covers(subTile, (long) full * h, (long) full * w)) {
      return gS.forward(yHat, observer);
    }
    NDArray[] out = {null};
    tiled(gS, tile, subTile, yHat, observer, new Output() {
      @Override
      public void beginBand(int top, int bottom) {}

      @Override
      public void piece(int top, int left, NDArray px) {
        if (out[0] == null) {
          out[0] = Tiles.allocate(px, px.getShape().get(1), (long) full * h, (long) full * w);
        }
        Tiles.put(out[0], span(top, px, 2), span(left, px, 3), px);
      }

      @Override
      public void endBand() {}
    });
    return out[0];
  }

  /**
   * x̂ from ŷ [1,M,h,w] as {@link #forward} computes it (the same tiles, the same operations, so the same floats), handed
   * to {@code out} one band at a time instead of assembled: one band per row of tiles, the whole image in one piece
   * when it fits one sub-tile. Only one tile's maps and one sub-tile's output are alive at a time.
   */
  public static void bands(
      SynthesisTransform gS, int tile, int subTile, NDArray yHat, Consumer<String> observer, Output out) {
    int h = Math.toIntExact(yHat.getShape().get(2));
    int w = Math.toIntExact(yHat.getShape().get(3));
    int full = STAGE_SCALE * STAGE_SCALE;
    if (Tiles.covers(subTile, (long) full * h, (long) full * w)) {
      NDArray x = gS.forward(yHat, observer);
      out.beginBand(0, full * h);
      try {
        out.piece(0, 0, x);
      } finally {
        x.close();
      }
      out.endBand();
      return;
    }
    tiled(gS, tile, subTile, yHat, observer, out);
  }

  private static Span span(int lo, NDArray piece, int axis) {
    return new Span(lo, lo + Math.toIntExact(piece.getShape().get(axis)));
  }

  /** The tile loop of {@link #forward} and {@link #bands}: one band per row of tiles. */
  private static void tiled(
      SynthesisTransform gS, int tile, int subTile, NDArray yHat, Consumer<String> observer, Output out) {
    int h = Math.toIntExact(yHat.getShape().get(2));
    int w = Math.toIntExact(yHat.getShape().get(3));
    int h4 = STAGE_SCALE * h;
    int w4 = STAGE_SCALE * w;
    Tiles.Grid tiles = Tiles.grid(new Span(0, h4), new Span(0, w4), tile / STAGE_SCALE,
        HIGH_HALO + STAGE_SCALE * LOW_HALO);
    for (Span rows : tiles.rows()) {
      out.beginBand(STAGE_SCALE * rows.lo(), STAGE_SCALE * rows.hi());
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
        try {
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
              try {
                out.piece(STAGE_SCALE * sr.lo(), STAGE_SCALE * sc.lo(), px);
              } finally {
                px.close();
              }
            }
          }
        } finally {
          low.close();
        }
      }
      out.endBand();
    }
  }
}
