package ai.taco.core.transform;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/** Geometry and copying shared by {@link TiledAnalysis} and {@link TiledSynthesis}. */
final class Tiles {
  private Tiles() {}

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

  /** A view of x [B,C,H,W] restricted to rows {@code r} and columns {@code c}. */
  static NDArray crop(NDArray x, Span r, Span c) {
    return x.get(new NDIndex(":, :, " + r.lo() + ":" + r.hi() + ", " + c.lo() + ":" + c.hi()));
  }

  /**
   * An uninitialised [1,C,H,W] map stored channels-last, in x's manager and type. The NHWC array is closed once the
   * view exists (the view keeps the storage): left open, it held every tile's storage until the call ended.
   */
  static NDArray allocate(NDArray like, long channels, long height, long width) {
    try (NDArray nhwc = like.getManager().create(new Shape(1, height, width, channels), like.getDataType())) {
      return nhwc.transpose(0, 3, 1, 2);
    }
  }

  /** Copies {@code tile} into rows {@code r}, columns {@code c} of {@code out}. */
  static void put(NDArray out, Span r, Span c, NDArray tile) {
    out.set(new NDIndex(":, :, " + r.lo() + ":" + r.hi() + ", " + c.lo() + ":" + c.hi()), tile);
  }
}
