package ai.taco.core.transform;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.nn.ReducedPrecision;
import java.util.ArrayList;
import java.util.List;

/** Geometry and copying shared by {@link TiledAnalysis} and {@link TiledSynthesis}. */
final class Tiles {
  private Tiles() {}

  /** True when an image of {@code height}×{@code width} pixels fits one sub-tile: no tiling happens (Tiling#covers). */
  static boolean covers(int subTile, long height, long width) {
    return height <= subTile && width <= subTile;
  }

  /** Half-open interval {@code [lo, hi)} of rows or columns, in the units of one resolution. */
  record Span(int lo, int hi) {
    int size() {
      return hi - lo;
    }

    /** The same positions at a resolution {@code f} times finer. */
    Span times(int f) {
      return new Span(lo * f, hi * f);
    }

    /** The positions of a resolution {@code f} times coarser that contain this span. */
    Span coarser(int f) {
      return new Span(Math.floorDiv(lo, f), -Math.floorDiv(-hi, f));
    }

    /** Widened by {@code halo} each side, clipped to {@code [0, limit)}. */
    Span expand(int halo, int limit) {
      return new Span(Math.max(0, lo - halo), Math.min(limit, hi + halo));
    }

    /** This span relative to {@code origin}. */
    Span minus(int origin) {
      return new Span(lo - origin, hi - origin);
    }
  }

  /**
   * {@code whole} in the fewest pieces of at most {@code size}, their sizes differing by at most one. Equal pieces,
   * not full ones and a sliver: a sliver pays a whole halo and a call's fixed costs for little output (a 2176-pixel
   * side in 1024-pixel tiles was 1024 + 1024 + 128).
   */
  static List<Span> split(Span whole, int size) {
    int pieces = Math.max(1, -Math.floorDiv(-whole.size(), size));
    int base = whole.size() / pieces;
    int longer = whole.size() % pieces;
    List<Span> out = new ArrayList<>(pieces);
    int lo = whole.lo();
    for (int i = 0; i < pieces; i++) {
      int hi = lo + base + (i < longer ? 1 : 0);
      out.add(new Span(lo, hi));
      lo = hi;
    }
    return out;
  }

  /** Row and column pieces of a tile grid: every tile is one row piece × one column piece. */
  record Grid(List<Span> rows, List<Span> cols) {}

  /**
   * The cheapest grid over {@code rows} × {@code cols} whose tiles, widened by {@code halo} on each side, are no larger
   * in area than a square {@code size} tile widened the same way: the memory bound of a square tile, with tile shapes
   * fitted to the image. Cheapest is the least total haloed area, i.e. the least work the halos add. A 3840×2160 image
   * in 1024-pixel tiles is then 2×4 tiles of gA's body instead of 3×4 (body work 1.27× instead of 1.33× the image's).
   * Each piece is at most {@code 2·size} long, so no tile degenerates into a long strip.
   */
  static Grid grid(Span rows, Span cols, int size, int halo) {
    long budget = (long) (size + 2 * halo) * (size + 2 * halo);
    int maxSide = 2 * size;
    Grid best = null;
    long bestCost = Long.MAX_VALUE;
    for (int nr = 1; nr <= rows.size(); nr++) {
      int pr = -Math.floorDiv(-rows.size(), nr);
      if (pr > maxSide) {
        continue;
      }
      long fit = budget / (pr + 2L * halo) - 2L * halo;
      if (fit < 1) {
        continue; // row pieces this long leave no room for a column: shorter ones will
      }
      List<Span> rowPieces = split(rows, pr);
      List<Span> colPieces = split(cols, (int) Math.min(maxSide, fit));
      long cost = (rows.size() + 2L * halo * rowPieces.size()) * (cols.size() + 2L * halo * colPieces.size());
      if (cost < bestCost) {
        bestCost = cost;
        best = new Grid(rowPieces, colPieces);
      }
      if (pr == 1) {
        break;
      }
    }
    return best;
  }

  /** A view of x [B,C,H,W] restricted to rows {@code r} and columns {@code c}. */
  static NDArray crop(NDArray x, Span r, Span c) {
    return x.get(new NDIndex(":, :, " + r.lo() + ":" + r.hi() + ", " + c.lo() + ":" + c.hi()));
  }

  /**
   * An uninitialised [1,C,H,W] map stored channels-last, in x's manager and type, float32 for a map of the reduced
   * residual stream (whose type DJL cannot name; {@link #put} converts its tiles). The NHWC array is closed once the
   * view exists (the view keeps the storage): left open, it held every tile's storage until the call ended.
   */
  static NDArray allocate(NDArray like, long channels, long height, long width) {
    DataType type = ReducedPrecision.isReduced(like) ? DataType.FLOAT32 : like.getDataType();
    try (NDArray nhwc = like.getManager().create(new Shape(1, height, width, channels), type)) {
      return nhwc.transpose(0, 3, 1, 2);
    }
  }

  /**
   * As {@link #allocate}, but a map of the reduced stream gets a map of its own type: for maps the transform reads on
   * (gA's 1/2 and 1/8 maps), which then take half the memory and need no conversion on either side of the copy.
   */
  static NDArray allocateStream(NDArray like, long channels, long height, long width) {
    NDArray reduced = ReducedPrecision.emptyReduced(like, channels, height, width);
    return reduced != null ? reduced : allocate(like, channels, height, width);
  }

  /**
   * Copies {@code tile} into rows {@code r}, columns {@code c} of {@code out}, converting a reduced-precision tile to
   * a float32 {@code out} in the same copy.
   */
  static void put(NDArray out, Span r, Span c, NDArray tile) {
    out.set(new NDIndex(":, :, " + r.lo() + ":" + r.hi() + ", " + c.lo() + ":" + c.hi()), tile);
  }
}
