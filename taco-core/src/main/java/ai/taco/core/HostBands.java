package ai.taco.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.taco.core.error.TacoException;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.transform.TiledSynthesis;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The decoder's end of banded gS: each piece of x̂ checked for non-finite values, cropped to the image's H×W, clamped
 * when asked and copied to host memory, either into one [1,3,H,W] tensor ({@link #whole}) or into one [3,rows,W]
 * tensor per band handed to a consumer ({@link #streaming}). Crop and clamp are per element, so the floats are those
 * of cropping and clamping the assembled x̂; what was checked is all of x̂, padding included, as before.
 */
final class HostBands implements TiledSynthesis.Output {
  private static final int FLOAT_BYTES = Float.BYTES;
  private static final int CHANNELS = 3;

  private final int height;
  private final int width;
  private final boolean clamp;
  /** Null: everything goes into one image-sized buffer. */
  private final Consumer<HostTensor> consumer;

  /** Where pieces go: [3, targetRows, width] starting at image row targetTop. */
  private ByteBuffer target;
  private int targetTop;
  private int targetRows;
  /** Rows of the current band within the image: [bandTop, bandBottom). */
  private int bandTop;
  private int bandBottom;
  /** Rows handed over (streaming) or filled (whole) so far: bands arrive in order and without gaps. */
  private int done;

  private HostBands(int height, int width, boolean clamp, Consumer<HostTensor> consumer) {
    this.height = height;
    this.width = width;
    this.clamp = clamp;
    this.consumer = consumer;
  }

  /** Into one [1,3,H,W] float tensor, allocated when the first band begins (after the file was checked). */
  static HostBands whole(int height, int width, boolean clamp) {
    return new HostBands(height, width, clamp, null);
  }

  /** One [3,rows,W] float tensor per band (at least one row each), top to bottom, to {@code consumer}. */
  static HostBands streaming(int height, int width, boolean clamp, Consumer<HostTensor> consumer) {
    return new HostBands(height, width, clamp, Objects.requireNonNull(consumer, "consumer"));
  }

  @Override
  public void beginBand(int top, int bottom) {
    bandTop = Math.min(top, height);
    bandBottom = Math.min(bottom, height);
    if (bandTop != done) {
      throw new IllegalStateException("band from row " + top + " after " + done + " rows");
    }
    if (consumer != null) {
      target = bandBottom > bandTop ? allocate(bandBottom - bandTop) : null;
      targetTop = bandTop;
      targetRows = bandBottom - bandTop;
    } else if (target == null) {
      target = allocate(height);
      targetTop = 0;
      targetRows = height;
    }
  }

  private ByteBuffer allocate(int rows) {
    long bytes = (long) CHANNELS * rows * width * FLOAT_BYTES;
    if (bytes > Integer.MAX_VALUE) {
      throw new TacoException("a decoded " + height + "x" + width + " image is too large for one host buffer ("
          + bytes + " bytes): decode it in bands (TacoCodec.decompress with a band consumer)");
    }
    return ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
  }

  @Override
  public void piece(int top, int left, NDArray piece) {
    // Every piece, even one wholly in the padding: the whole of x̂ is checked, as the unbanded decoder did.
    NativeMemory.requireFinite(piece, "decoded image");
    long[] s = piece.getShape().getShape();
    int rows = Math.min(Math.toIntExact(s[2]), height - top);
    int cols = Math.min(Math.toIntExact(s[3]), width - left);
    if (rows <= 0 || cols <= 0) {
      return;
    }
    if (top < bandTop || top + rows > bandBottom) {
      throw new IllegalStateException("piece at row " + top + " outside band [" + bandTop + ", " + bandBottom + ")");
    }
    try (NDScope scope = new NDScope()) {
      NDArray kept = rows == s[2] && cols == s[3] ? piece : piece.get(new NDIndex(":, :, 0:" + rows + ", 0:" + cols));
      NDArray out = clamp ? kept.clip(0f, 1f) : kept;
      if (out.getDataType() != DataType.FLOAT32) {
        throw new IllegalStateException("gS gave " + out.getDataType());
      }
      FloatBuffer src = out.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
      FloatBuffer dst = target.asFloatBuffer();
      for (int c = 0; c < CHANNELS; c++) {
        for (int y = 0; y < rows; y++) {
          int to = (c * targetRows + top - targetTop + y) * width + left;
          dst.put(to, src, (c * rows + y) * cols, cols);
        }
      }
    }
  }

  @Override
  public void endBand() {
    done = bandBottom;
    if (consumer != null && target != null) {
      HostTensor band = new HostTensor(DataType.FLOAT32, new long[] {CHANNELS, targetRows, width}, target);
      target = null; // the consumer may keep it: a new buffer for every band
      consumer.accept(band);
    }
  }

  /** The image, once every band has been put ({@link #whole} only). */
  HostTensor image() {
    requireComplete();
    return new HostTensor(DataType.FLOAT32, new long[] {1, CHANNELS, height, width}, target);
  }

  /** Every row was covered: a broken band sequence must not pass as an image with rows of zeros. */
  void requireComplete() {
    if (done != height) {
      throw new IllegalStateException("gS covered " + done + " of " + height + " rows");
    }
  }
}
