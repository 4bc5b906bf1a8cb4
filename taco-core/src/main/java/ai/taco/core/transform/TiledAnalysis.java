package ai.taco.core.transform;

import ai.djl.ndarray.NDArray;
import ai.taco.core.nn.Scoped;
import ai.taco.core.transform.Tiles.Span;
import java.util.function.Consumer;

/**
 * gA over tiles (edges {@code tile} and {@code subTile} in image pixels, as ai.taco.core.Tiling gives them): the same
 * call shape as {@link AnalysisTransform#forward(NDArray, NDArray,
 * Consumer)} and the same latent up to float summation order, with the large maps bounded by the tile size.
 *
 * <p>One step is global: the Extractor (step 14) lets the caption tokens attend to every position of the 1/8 map of
 * step 13. So gA runs in three parts: steps 0-13 tiled into that 1/8 map (N channels, 1/64 of the pixels: as large
 * as the image in float32, half that in bfloat16 inference, where the tile maps belong to the reduced stream), the
 * Extractor once on the whole map (its keys, values and attention scores computed one tile's worth of positions at a
 * time, the softmax taken in two passes over them), then steps 15-17 tiled again with the updated caption. The image
 * itself is read one sub-tile's crop at a time ({@link Input}). Steps 0-13 are themselves two stages, so the
 * wide halo is paid at low resolution: steps 0-3 (full → 1/2, most of the large maps) per sub-tile and steps 4-13
 * (1/2 → 1/8) per tile. Injectors are per position (each position's token attends to the caption), so they need no
 * halo. Halos are receptive-field radii (a 5×5/2 convolution maps r to 2r+2, a 3×3 residual bottleneck adds 1, an
 * attention block 3):
 *
 * <ul>
 *   <li>steps 0-3, at full resolution: r = 3 at 1/2 → {@value #HEAD_HALO};
 *   <li>steps 4-13, at 1/2: 3 at 1/8 → 8 at 1/4 → +3 (attention block 9) +3 (bottlenecks 5-7) = 14 → 30 at 1/2,
 *       rounded up to {@value #BODY_HALO} so crops start on the 4-position grid of the two strided convolutions;
 *   <li>steps 15-17, at 1/8: 3 at 1/16 (attention block 17) → {@value #TAIL_HALO}.
 * </ul>
 */
public final class TiledAnalysis {
  /** Receptive-field radius of steps 0-3 (full → 1/2), in image pixels. */
  static final int HEAD_HALO = 8;
  /** Receptive-field radius of steps 4-13 (1/2 → 1/8), in positions at 1/2, a multiple of 4. */
  static final int BODY_HALO = 32;
  /** Receptive-field radius of steps 15-17 (1/8 → 1/16), in positions at 1/8. */
  static final int TAIL_HALO = 8;
  private static final int HEAD_TO = 4;
  private static final int TAIL_FROM = AnalysisTransform.EXTRACTOR + 1;

  private TiledAnalysis() {}

  /**
   * gA's input image [1,3,H,W] read one crop at a time, so the tiled path never needs the whole image as one float32
   * array (at 100 MP, 1.2 GB, and as much again for its padded copy): a caller can cut the crops from a compact host
   * image and pad them on the fly.
   */
  public interface Input {
    int height();

    int width();

    /**
     * Rows {@code [rowLo, rowHi)} and columns {@code [colLo, colHi)} as float32 [1,3,rows,cols], a new array (or view)
     * the caller's scope frees.
     */
    NDArray crop(int rowLo, int rowHi, int colLo, int colHi);

    /** Crops of an array x [1,3,H,W] (views of it). */
    static Input of(NDArray x) {
      int h = Math.toIntExact(x.getShape().get(2));
      int w = Math.toIntExact(x.getShape().get(3));
      return new Input() {
        @Override
        public int height() {
          return h;
        }

        @Override
        public int width() {
          return w;
        }

        @Override
        public NDArray crop(int rowLo, int rowHi, int colLo, int colHi) {
          return Tiles.crop(x, new Span(rowLo, rowHi), new Span(colLo, colHi));
        }
      };
    }
  }

  /** y [1,M,H/16,W/16] from x [1,3,H,W] (H, W multiples of 16); untiled when the image fits one sub-tile. */
  public static NDArray forward(
      AnalysisTransform gA, int tile, int subTile, NDArray x, NDArray text, Consumer<String> observer) {
    int h = Math.toIntExact(x.getShape().get(2));
    int w = Math.toIntExact(x.getShape().get(3));
    if (Tiles.covers(subTile, h, w)) {
      return gA.forward(x, text, observer);
    }
    return forward(gA, tile, subTile, Input.of(x), text, observer);
  }

  /**
   * As {@link #forward(AnalysisTransform, int, int, NDArray, NDArray, Consumer)} reading the image crop by crop; when
   * it fits one sub-tile, the whole image is read as one crop and gA runs untiled.
   */
  public static NDArray forward(
      AnalysisTransform gA, int tile, int subTile, Input x, NDArray text, Consumer<String> observer) {
    int h = x.height();
    int w = x.width();
    if (Tiles.covers(subTile, h, w)) {
      return gA.forward(x.crop(0, h, 0, w), text, observer);
    }
    // Injectors run on a sub-tile's worth of 1/4 positions at a time.
    int injectorTokens = (subTile / 4) * (subTile / 4);
    NDArray map8 = null;
    Tiles.Grid tiles = Tiles.grid(new Span(0, h / 8), new Span(0, w / 8), tile / 8, BODY_HALO / 4);
    for (Span rows : tiles.rows()) {
      for (Span cols : tiles.cols()) {
        Span r2 = rows.times(4).expand(BODY_HALO, h / 2);
        Span c2 = cols.times(4).expand(BODY_HALO, w / 2);
        NDArray head = null;
        Tiles.Grid subTiles = Tiles.grid(r2, c2, subTile / 2, HEAD_HALO / 2);
        for (Span sr : subTiles.rows()) {
          for (Span sc : subTiles.cols()) {
            Span r1 = sr.times(2).expand(HEAD_HALO, h);
            Span c1 = sc.times(2).expand(HEAD_HALO, w);
            NDArray part = Scoped.step(() -> {
              NDArray m = gA.image(0, HEAD_TO, x.crop(r1.lo(), r1.hi(), c1.lo(), c1.hi()), text, injectorTokens, observer);
              return Tiles.crop(m, sr.minus(r1.lo() / 2), sc.minus(c1.lo() / 2));
            });
            if (head == null) {
              head = Tiles.allocateStream(part, part.getShape().get(1), r2.size(), c2.size());
            }
            Tiles.put(head, sr.minus(r2.lo()), sc.minus(c2.lo()), part);
            part.close();
          }
        }
        NDArray in = head;
        NDArray body = Scoped.step(() -> {
          NDArray m = gA.image(HEAD_TO, AnalysisTransform.EXTRACTOR, in, text, injectorTokens, observer);
          return Tiles.crop(m, rows.minus(r2.lo() / 4), cols.minus(c2.lo() / 4));
        });
        head.close();
        if (map8 == null) {
          map8 = Tiles.allocateStream(body, body.getShape().get(1), h / 8, w / 8);
        }
        Tiles.put(map8, rows, cols, body);
        body.close();
      }
    }
    // The Extractor takes the 1/8 map's positions one tile's worth at a time.
    int chunk = Math.toIntExact(Math.min(Integer.MAX_VALUE, (long) (tile / 8) * (tile / 8)));
    NDArray text2 = gA.extract(text, map8, chunk, observer);
    NDArray y = null;
    NDArray whole8 = map8;
    Tiles.Grid tail = Tiles.grid(new Span(0, h / 16), new Span(0, w / 16), tile / 16, TAIL_HALO / 2);
    for (Span rows : tail.rows()) {
      for (Span cols : tail.cols()) {
        Span r8 = rows.times(2).expand(TAIL_HALO, h / 8);
        Span c8 = cols.times(2).expand(TAIL_HALO, w / 8);
        NDArray part = Scoped.step(() -> {
          NDArray m = gA.image(TAIL_FROM, gA.steps(), Tiles.crop(whole8, r8, c8), text2, injectorTokens, observer);
          return Tiles.crop(m, rows.minus(r8.lo() / 2), cols.minus(c8.lo() / 2));
        });
        if (y == null) {
          y = Tiles.allocate(part, part.getShape().get(1), h / 16, w / 16);
        }
        Tiles.put(y, rows, cols, part);
        part.close();
      }
    }
    map8.close();
    if (text2 != text) {
      text2.close();
    }
    return y;
  }
}
