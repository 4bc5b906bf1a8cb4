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
 * <p>gS runs in three stages so that each halo is paid only where it is cheap: the low stage (steps 0-5, ŷ at 1/16
 * → a map at 1/4, a sixth of gS's multiply-accumulates) carries the wide halo; the middle stage (steps 6-9, attention
 * block and bottlenecks at 1/4, over a quarter of them) adds only its own few positions; both run once per tile. The
 * high stage (steps 10-14, 1/4 → full resolution, where most multiply-accumulates and all large maps are) runs per
 * sub-tile of it. Each halo is the receptive-field radius of its stage, so every kept output sample sees exactly the
 * inputs it sees untiled:
 *
 * <ul>
 *   <li>high stage, at 1/4: two 5×5/2 transposed convolutions add ⌈r/2⌉+1 each on the way down, three 3×3 residual
 *       bottlenecks 3: r = 0 → 1 → 4 → {@value #HIGH_HALO};
 *   <li>middle stage, at 1/4: attention block 6 (three 3×3 units per branch) and bottlenecks 7-9 add 3 each:
 *       {@value #MID_HALO};
 *   <li>low stage, at 1/16 around the 1/16 positions that hold its output: transposed convolution 5 → 1, bottlenecks
 *       2-4 → 4, transposed convolution 1 → 3, attention block 0 → {@value #LOW_HALO}.
 * </ul>
 *
 * <p>With two stages below 1/4 (the wide halo around the middle stage too) an 8K decode ran 1.25× Kodak's time per
 * megapixel; docs/performance.md, "Large images", has the current figure.
 */
public final class TiledSynthesis {
  /** Receptive-field radius of steps 10-14, in positions at 1/4 resolution (see the class comment). */
  static final int HIGH_HALO = 3;
  /** Receptive-field radius of steps 6-9, in positions at 1/4 resolution (see the class comment). */
  static final int MID_HALO = 6;
  /** Receptive-field radius of steps 0-5 for an output at 1/4, in positions at 1/16 resolution. */
  static final int LOW_HALO = 6;
  /** gS's middle stage starts at step 6, the attention block at 1/4. */
  static final int MID_FROM = 6;
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
        HIGH_HALO + MID_HALO + STAGE_SCALE * LOW_HALO);
    for (Span rows : tiles.rows()) {
      out.beginBand(STAGE_SCALE * rows.lo(), STAGE_SCALE * rows.hi());
      for (Span cols : tiles.cols()) {
        // The tile's 1/4 map, widened by the high stage's halo, from the middle stage on a map widened by its own
        // halo, itself from the low stage on ŷ widened by the low halo.
        Span r4 = rows.expand(HIGH_HALO, h4);
        Span c4 = cols.expand(HIGH_HALO, w4);
        Span rMid = r4.expand(MID_HALO, h4);
        Span cMid = c4.expand(MID_HALO, w4);
        Span r16 = rMid.coarser(STAGE_SCALE).expand(LOW_HALO, h);
        Span c16 = cMid.coarser(STAGE_SCALE).expand(LOW_HALO, w);
        NDArray low = Scoped.step(() -> {
          NDArray m = gS.steps(0, MID_FROM, Tiles.crop(yHat, r16, c16), observer);
          NDArray mid = gS.steps(MID_FROM, HIGH_FROM,
              Tiles.crop(m, rMid.minus(STAGE_SCALE * r16.lo()), cMid.minus(STAGE_SCALE * c16.lo())), observer);
          return Tiles.crop(mid, r4.minus(rMid.lo()), c4.minus(cMid.lo())).duplicate();
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
