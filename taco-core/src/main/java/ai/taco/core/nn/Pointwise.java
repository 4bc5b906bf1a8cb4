package ai.taco.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.pytorch.jni.JniUtils;
import ai.taco.core.tensor.Precision;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which libtorch kernel computes a float32 1×1 convolution or per-token linear layer of gA and gS.
 *
 * <p>WHY: libtorch computes every {@code linear}, and an undilated 1×1 convolution on one intra-op thread, with its
 * MKL matrix product, which runs at 135-170 GFLOP/s on this project's AMD CPU (MKL's AVX2 path) where oneDNN's 1×1
 * kernels reach 230-300 on gA's and gS's shapes (docs/performance.md, "1×1 convolutions"); gA and gS spend about half
 * their convolution time in 1×1 layers. A dilation, which a 1×1 kernel ignores (one tap has no spacing), makes
 * libtorch take oneDNN at every thread count ({@code ConvParams::use_mkldnn} takes an undilated one to oneDNN only
 * with more than one thread), so the sums do not depend on the thread count: measured bit-identical across 1, 2, 3,
 * 5, 8, 16 and 64 threads for every width of at least {@link #MIN_IN_CHANNELS} (DeterminismTest runs the full-size
 * model at 1 and 2 threads).
 *
 * <p>Checked before trusted: libtorch 2.7.1's oneDNN 1×1 kernel on a channels-last map returns wrong values in the
 * last 32 output channels for some shapes (on this CPU 96→80 at every map size, 192→512 and 192→320 on a 24×40 map;
 * the undilated convolution libtorch runs by default on two threads is as wrong). So the first time a shape (and
 * thread count) comes by, its oneDNN result is compared with the matrix product; a shape that disagrees keeps the
 * matrix product for the life of the process (logged once). One shape disagreed while coding a 100-megapixel image
 * here: 160→320 on a 73×73 tile of the latent-size attention block. The check costs one extra product per new shape,
 * computed a slab of rows at a time; a transform repeats each shape many times (blocks, tiles, images).
 *
 * <p>Only gA and gS ({@link ReducedPrecision#transform}) take this route. The entropy models' 1×1 convolutions (the
 * context model's parameter networks) keep the matrix product: the decoder must repeat their sums bit for bit, and
 * they are what the parity tests pin. Under bfloat16 the products are oneDNN's already (autocast).
 */
final class Pointwise {
  private static final Logger LOG = LoggerFactory.getLogger(Pointwise.class);

  /** A dilation that does not change a 1×1 kernel (see the class comment). */
  private static final Shape DILATION = new Shape(2, 2);

  private static final Shape UNIT = new Shape(1, 1);

  private static final Shape NO_PADDING = new Shape(0, 0);

  /**
   * libtorch sends a float32 convolution of one image with a kernel of at most 3×3 to oneDNN only when the input has
   * more than this many elements ({@code ConvParams::use_mkldnn}); below it a dilated convolution would take its slow
   * reference kernel, so small maps keep the matrix product.
   */
  static final long MIN_ELEMENTS = 20_480;

  /**
   * oneDNN's 1×1 kernels gave thread-count-dependent sums for 32 and 48 input channels (at 2, 3, 5, 8, 16 or 64
   * threads, some output widths) and identical sums from 64 up, measured on widths 16-512 and maps 32×48 and
   * 128×192; narrower layers (the small test models) keep the matrix product.
   */
  static final long MIN_IN_CHANNELS = 64;

  /**
   * A wrong kernel is off by the size of the outputs themselves (relative errors 0.5-3 measured); float32 summation
   * order differs by about 1e-6. Anything above this fraction of the largest output is a wrong result.
   */
  static final double AGREEMENT = 1e-3;

  /** Shapes checked so far (a handful per image size); past this many, new shapes keep the matrix product. */
  static final int MAX_CHECKED_SHAPES = 4096;

  /** Slabs of rows a new shape's check computes the matrix product in ({@link #checked}). */
  static final int CHECK_SLABS = 8;

  /** Shape key (kind, dimensions, thread count) → whether oneDNN agreed with the matrix product. */
  private static final Map<List<Long>, Boolean> CHECKED = new ConcurrentHashMap<>();

  private Pointwise() {}

  /** Whether a float32 1×1 layer with {@code in} input channels reading {@code x} may take oneDNN. */
  static boolean eligible(NDArray x, long in) {
    return ReducedPrecision.inTransform()
        && ReducedPrecision.active() == Precision.FP32
        && x.getDataType() == DataType.FLOAT32
        && in >= MIN_IN_CHANNELS
        && x.getShape().size() > MIN_ELEMENTS;
  }

  /**
   * The 1×1 convolution of x [B,C,H,W] (channels-last) with w [out, C, 1, 1] and b [out], by oneDNN when this shape has
   * passed the check, else by {@code matrixProduct} (the caller's usual route, which must accept any rows of x).
   */
  static NDArray conv(NDArray x, NDArray w, NDArray b, UnaryOperator<NDArray> matrixProduct) {
    Shape s = x.getShape();
    List<Long> key = List.of(0L, s.get(0), s.get(1), w.getShape().get(0), s.get(2), s.get(3), threads());
    return checked(key, () -> oneDnn(x, w, b), x, true, matrixProduct);
  }

  /**
   * {@code x·wᵀ + b} over the last axis of x [..., in] (w [out, in]): by oneDNN (the tokens viewed as a one-row
   * channels-last image) when this shape has passed the check, else by {@code matrixProduct} (the caller's usual
   * route, which must accept any rows of x).
   */
  static NDArray linear(NDArray x, NDArray w, NDArray b, UnaryOperator<NDArray> matrixProduct) {
    Shape s = x.getShape();
    long in = s.get(s.dimension() - 1);
    long tokens = s.size() / in;
    long out = w.getShape().get(0);
    long[] outShape = s.getShape().clone();
    outShape[outShape.length - 1] = out;
    List<Long> key = List.of(1L, tokens, in, out, threads());
    // In a scope of its own so that the returned view is the only handle on the result's storage (a caller closing it
    // frees the memory).
    Supplier<NDArray> fast = () -> Scoped.step(() -> {
      NDArray image = x.reshape(1, 1, tokens, in).transpose(0, 3, 1, 2);
      return oneDnn(image, w.reshape(out, in, 1, 1), b).transpose(0, 2, 3, 1).reshape(new Shape(outShape));
    });
    return checked(key, fast, x, false, matrixProduct);
  }

  private static NDArray oneDnn(NDArray x, NDArray w, NDArray b) {
    return Conv2d.conv2d(x, w, b, UNIT, NO_PADDING, DILATION, 1).singletonOrThrow();
  }

  private static long threads() {
    return JniUtils.getNumThreads();
  }

  /**
   * The route this shape has earned: {@code fast} once it agreed with {@code product}, else {@code product} on all of
   * {@code x}. A new shape runs {@code fast} and then {@code product} a slab of rows at a time ({@link #CHECK_SLABS};
   * a 1×1 layer works on each position alone, so a slab's product is exactly those rows of the whole product), each
   * slab freed at once: the check holds a slab's worth of memory beyond the result, not a second map, which an
   * allocator that keeps freed memory (tcmalloc) would keep.
   */
  private static NDArray checked(
      List<Long> key, Supplier<NDArray> fast, NDArray x, boolean image, UnaryOperator<NDArray> product) {
    Boolean agreed = CHECKED.get(key);
    if (agreed != null) {
      return agreed ? fast.get() : product.apply(x);
    }
    if (CHECKED.size() >= MAX_CHECKED_SHAPES) {
      return product.apply(x);
    }
    NDArray candidate = fast.get();
    boolean agree = agreesWithProduct(candidate, x, image, product);
    if (CHECKED.putIfAbsent(key, agree) == null && !agree) {
      LOG.info("libtorch's oneDNN 1x1 kernel disagrees with the matrix product for shape {}; using the product", key);
    }
    if (agree) {
      return candidate;
    }
    candidate.close();
    return product.apply(x);
  }

  /** Whether {@code candidate} agrees with {@code product} of {@code x}, compared a slab of rows at a time. */
  private static boolean agreesWithProduct(
      NDArray candidate, NDArray x, boolean image, UnaryOperator<NDArray> product) {
    // Rows of a [B,C,H,W] map are its H axis (views); tokens [..., width] are viewed as [rows, width].
    NDArray xRows = image ? x : tokens(x);
    NDArray outRows = image ? candidate : tokens(candidate);
    long rows = image ? x.getShape().get(2) : xRows.getShape().get(0);
    long slab = Math.max(1, (rows + CHECK_SLABS - 1) / CHECK_SLABS);
    for (long r = 0; r < rows; r += slab) {
      String range = r + ":" + Math.min(rows, r + slab);
      try (NDScope scope = new NDScope()) {
        NDArray want = product.apply(image ? xRows.get(":, :, " + range + ", :") : xRows.get(range));
        NDArray got = image ? outRows.get(":, :, " + range + ", :") : outRows.get(range);
        if (!agree(got, want)) {
          return false;
        }
      }
    }
    return true;
  }

  /** Whether two float32 results of one layer agree up to summation order ({@link #AGREEMENT}). */
  static boolean agree(NDArray candidate, NDArray reference) {
    try (NDScope scope = new NDScope()) {
      NDArray d = candidate.sub(reference);
      float diff = Math.max(d.max().getFloat(), -d.min().getFloat());
      float scale = Math.max(reference.max().getFloat(), -reference.min().getFloat());
      return Float.isFinite(diff) && diff <= AGREEMENT * Math.max(scale, Float.MIN_NORMAL);
    }
  }

  private static NDArray tokens(NDArray x) {
    Shape s = x.getShape();
    return x.reshape(-1, s.get(s.dimension() - 1));
  }

  /** The shapes checked so far and whether each agreed (tests). */
  static Map<List<Long>, Boolean> checkedShapes() {
    return Map.copyOf(CHECKED);
  }
}
