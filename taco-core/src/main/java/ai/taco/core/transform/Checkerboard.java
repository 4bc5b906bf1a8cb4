package ai.taco.core.transform;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.nn.Constants;

/**
 * The checkerboard split of the official utils/ckbd.py. Anchors are the positions with (row + col) odd, decoded first
 * from the hyperprior (and channel context); non-anchors, (row + col) even, also see the anchors through the local
 * context. "Squeezed" form: [B,C,H,W/2], row r holding the row's W/2 positions of the given kind in column order — the
 * order in which symbols are entropy coded.
 */
public final class Checkerboard {
  private Checkerboard() {}

  /** 1 at anchor positions ((row+col) odd), 0 elsewhere; shape [1,1,H,W]. */
  public static NDArray anchorMask(NDManager m, long h, long w) {
    float[] data = new float[(int) (h * w)];
    for (int r = 0; r < h; r++) {
      for (int c = 0; c < w; c++) {
        data[(int) (r * w + c)] = ((r + c) & 1) == 1 ? 1f : 0f;
      }
    }
    return Constants.of(m, data, new Shape(1, 1, h, w)); // mul saves it for backward: libtorch-owned (Constants)
  }

  /** ckbd_anchor: y at anchor positions, 0 elsewhere. */
  public static NDArray anchor(NDArray y) {
    return y.mul(anchorMask(y.getManager(), y.getShape().get(2), y.getShape().get(3)));
  }

  /** ckbd_nonanchor: y at non-anchor positions, 0 elsewhere. */
  public static NDArray nonAnchor(NDArray y) {
    NDArray mask = anchorMask(y.getManager(), y.getShape().get(2), y.getShape().get(3));
    return y.mul(mask.neg().add(1f));
  }

  /**
   * The squeezed form [B,C,H,W/2] of the anchor (or non-anchor) positions of x [B,C,H,W]: even rows hold their anchors
   * in the odd columns, odd rows in the even columns (non-anchors the other way round).
   */
  public static NDArray squeeze(NDArray x, boolean anchor) {
    long[] s = x.getShape().getShape();
    int evenRowCol = anchor ? 1 : 0;
    NDArray evenRows = x.get(":, :, 0::2, " + evenRowCol + "::2");
    NDArray oddRows = x.get(":, :, 1::2, " + (1 - evenRowCol) + "::2");
    return evenRows.stack(oddRows, 3).reshape(s[0], s[1], s[2], s[3] / 2);
  }

  /**
   * {@link #squeeze} of the channel concatenation of {@code parts} (each [B,C_i,H,W]), written once into a
   * channels-last buffer: the same values as {@code squeeze(concat(parts, 1), anchor)} without the full-grid
   * concatenation, and laid out so a 1×1 convolution reads it as tokens without another copy. At 3840×2160 the last
   * slice's concatenation alone was 184 MB.
   */
  public static NDArray squeezeConcat(NDList parts, boolean anchor) {
    NDArray first = parts.head();
    long[] s = first.getShape().getShape();
    long channels = 0;
    for (NDArray p : parts) {
      channels += p.getShape().get(1);
    }
    int evenRowCol = anchor ? 1 : 0;
    NDArray out;
    try (NDArray nhwc = first.getManager().create(new Shape(s[0], s[2], s[3] / 2, channels), first.getDataType())) {
      long c0 = 0;
      for (NDArray p : parts) {
        long c1 = c0 + p.getShape().get(1);
        try (NDArray even = p.get(":, :, 0::2, " + evenRowCol + "::2").transpose(0, 2, 3, 1);
            NDArray odd = p.get(":, :, 1::2, " + (1 - evenRowCol) + "::2").transpose(0, 2, 3, 1)) {
          nhwc.set(new NDIndex(":, 0::2, :, {}:{}", c0, c1), even);
          nhwc.set(new NDIndex(":, 1::2, :, {}:{}", c0, c1), odd);
        }
        c0 = c1;
      }
      out = nhwc.transpose(0, 3, 1, 2);
    }
    return out;
  }

  /** Flat offset (within one H×W plane) of the j-th squeezed element of row r. */
  public static int position(boolean anchor, int r, int j, int w) {
    int col = 2 * j + (((r & 1) == 1) == anchor ? 0 : 1);
    return r * w + col;
  }

  /** Checks that the latent grid splits evenly into the two checkerboard halves. */
  public static void requireEven(long h, long w) {
    if ((h & 1) != 0 || (w & 1) != 0) {
      throw new IllegalArgumentException("latent size " + h + "x" + w + " must be even (pad the image to a multiple of 64)");
    }
  }
}
