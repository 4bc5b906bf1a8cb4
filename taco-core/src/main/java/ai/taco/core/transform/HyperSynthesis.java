package ai.taco.core.transform;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.nn.Layer;
import ai.taco.core.nn.NamedParameters;
import ai.taco.core.nn.Scoped;
import ai.taco.core.nn.TransposedConv;
import java.util.List;

/**
 * hS (official {@code HyperSynthesisEX}): ẑ [B,N,h,w] → hyper parameters [B,2M,4h,4w]. {@code h_s.increase.<i>}:
 * 0 deconv(N→M), 1 ReLU, 2 deconv(M→3M/2), 3 ReLU, 4 deconv3×3/1(3M/2→2M).
 *
 * <p>A large ẑ goes through in bands of rows ({@link #forward(NDArray, int)}): whole, the last layer holds its
 * 3M/2-channel input and 2M-channel output at once (1.75 GB at 100 megapixels, the encoder's and decoder's peak), in
 * bands only the 2M-channel output is whole.
 */
public final class HyperSynthesis {
  /**
   * ẑ positions per band (2^10: one band for Kodak, 9 bands at 7680×4320, 26 at 100 megapixels). A band's own
   * intermediates (the 3M/2-channel maps and its slice of the output, before the copy) come on top of the whole
   * output, so bands must be small to save anything: with 2^12 positions (2 bands at 8K) they saved nothing there.
   * Each band recomputes {@link #HALO} rows on either side (hS is about 2 % of a large image's encode time).
   */
  public static final int BAND_POSITIONS = 1 << 10;

  /**
   * ẑ rows a band reads beyond its own on either side: output row r of the last layer (3×3) needs rows r±1 of the
   * second, whose row 2m+p needs first-layer rows m-1..m+1, whose row 2k+q needs ẑ rows k-1..k+1; in ẑ rows that is
   * less than 2 on either side.
   */
  static final int HALO = 2;

  /** Output rows per ẑ row: two stride-2 layers. */
  private static final int UPSAMPLING = 4;

  private final Layer[] steps;
  private final int outChannels;

  public HyperSynthesis(NamedParameters p, int n, int m) {
    steps =
        new Layer[] {
          TransposedConv.up(p, "h_s.increase.0", n, m),
          Layer.RELU,
          TransposedConv.up(p, "h_s.increase.2", m, m * 3 / 2),
          Layer.RELU,
          new TransposedConv(p, "h_s.increase.4", m * 3 / 2, m * 2, 3, 1)
        };
    outChannels = m * 2;
  }

  /** hS(ẑ), in bands of {@link #BAND_POSITIONS} ẑ positions when ẑ is larger. */
  public NDArray forward(NDArray zHat) {
    long width = zHat.getShape().get(3);
    return forward(zHat, (int) Math.max(1, BAND_POSITIONS / width));
  }

  /**
   * hS(ẑ) over bands of {@code bandRows} ẑ rows, each with {@link #HALO} rows of context on either side, written into
   * one output stored channels-last as the whole-map pass stores it. The values are those of the whole-map pass, bit
   * for bit (every output element sums the same products in the same order; HyperSynthesisBandsTest): encoder and
   * decoder must derive identical entropy parameters from ẑ, here and in the official code. One band when ẑ has at
   * most {@code bandRows} rows.
   */
  public NDArray forward(NDArray zHat, int bandRows) {
    Shape shape = zHat.getShape();
    long rows = shape.get(2);
    if (rows <= bandRows) {
      return forward(zHat, null);
    }
    long n = shape.get(0);
    long width = shape.get(3);
    NDArray nhwc = zHat.getManager()
        .create(new Shape(n, UPSAMPLING * rows, UPSAMPLING * width, outChannels), DataType.FLOAT32);
    NDArray out = nhwc.transpose(0, 3, 1, 2);
    // The view keeps the storage: closing the base now lets closing `out` free it (else it lived to the end of the
    // call, through gS: 1 GB at 100 megapixels).
    nhwc.close();
    for (long r0 = 0; r0 < rows; r0 += bandRows) {
      long r1 = Math.min(rows, r0 + bandRows);
      long a = Math.max(0, r0 - HALO);
      long b = Math.min(rows, r1 + HALO);
      try (NDScope scope = new NDScope()) {
        NDArray band = forward(zHat.get(":, :, " + a + ":" + b + ", :"), null);
        out.set(new NDIndex(":, :, " + UPSAMPLING * r0 + ":" + UPSAMPLING * r1 + ", :"),
            band.get(":, :, " + UPSAMPLING * (r0 - a) + ":" + UPSAMPLING * (r1 - a) + ", :"));
      }
    }
    return out;
  }

  public NDArray forward(NDArray zHat, List<NDArray> trace) {
    NDArray x = zHat;
    for (Layer l : steps) {
      NDArray in = x;
      x = Scoped.step(() -> l.forward(in));
      AnalysisTransform.record(trace, x);
      if (trace == null) {
        // Consumed maps go at once: at 7680×4320 the hyper stage otherwise kept 1.4 GB of them to the end of the call.
        Scoped.release(in, x, zHat);
      }
    }
    return x;
  }
}
