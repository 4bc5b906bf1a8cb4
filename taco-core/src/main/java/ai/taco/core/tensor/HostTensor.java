package ai.taco.core.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.error.WeightsException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A tensor in host memory as files store it: dtype, shape and little-endian row-major bytes. It is what the weight
 * readers return, so a file can be inspected and validated before any native memory is allocated.
 *
 * <p>The buffer may be a read-only view of a memory-mapped file; this class never writes to it.
 */
public final class HostTensor {
  private final DataType dataType;
  private final long[] shape;
  private final ByteBuffer data;

  /**
   * @param dataType element type (FLOAT16 and BFLOAT16 are kept as stored and widened on conversion)
   * @param shape dimensions, empty for a scalar
   * @param data exactly numel * element-size bytes, little-endian
   */
  public HostTensor(DataType dataType, long[] shape, ByteBuffer data) {
    this.dataType = dataType;
    this.shape = shape.clone();
    long bytes = numel(shape) * elementSize(dataType);
    if (data.remaining() != bytes) {
      throw new WeightsException(
          "tensor of " + dataType + Arrays.toString(shape) + " needs " + bytes + " bytes, got " + data.remaining());
    }
    this.data = data.slice().order(ByteOrder.LITTLE_ENDIAN);
  }

  public DataType dataType() {
    return dataType;
  }

  public long[] shape() {
    return shape.clone();
  }

  /** A read-only little-endian view of the raw bytes, positioned at 0. */
  public ByteBuffer data() {
    return data.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  public long numel() {
    return numel(shape);
  }

  public static long numel(long[] shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new WeightsException("negative dimension in shape " + Arrays.toString(shape));
      }
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  public static int elementSize(DataType t) {
    switch (t) {
      case FLOAT64:
      case INT64:
      case UINT64:
        return 8;
      case FLOAT32:
      case INT32:
      case UINT32:
        return 4;
      case FLOAT16:
      case BFLOAT16:
      case INT16:
      case UINT16:
        return 2;
      case INT8:
      case UINT8:
      case BOOLEAN:
        return 1;
      default:
        throw new WeightsException("unsupported tensor dtype " + t);
    }
  }

  /** Copies an NDArray to host memory (FLOAT32/64, INT32/64, INT8/UINT8, BOOLEAN). */
  public static HostTensor fromNDArray(NDArray array) {
    // toByteBuffer(true): a view of the tensor's own memory (contiguous CPU tensors; a copy otherwise), so the values
    // are copied once, not through an intermediate byte[] as large as the tensor (100 MB for a decoded 4K image).
    ByteBuffer bytes = array.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer copy = ByteBuffer.allocate(bytes.remaining()).order(ByteOrder.LITTLE_ENDIAN);
    copy.put(bytes).flip();
    return new HostTensor(array.getDataType(), array.getShape().getShape(), copy);
  }

  public static HostTensor ofFloats(float[] values, long... shape) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return new HostTensor(DataType.FLOAT32, shape, b);
  }

  public static HostTensor ofInts(int[] values, long... shape) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asIntBuffer().put(values);
    return new HostTensor(DataType.INT32, shape, b);
  }

  public static HostTensor ofLongs(long[] values, long... shape) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    b.asLongBuffer().put(values);
    return new HostTensor(DataType.INT64, shape, b);
  }

  public static HostTensor ofBytes(byte[] values, long... shape) {
    return new HostTensor(DataType.UINT8, shape, ByteBuffer.wrap(values.clone()));
  }

  /**
   * Creates the tensor in {@code manager}. Half-precision types are widened to FLOAT32 in Java first: DJL 0.36 aborts
   * the JVM on BFLOAT16 buffers (docs/djl-traps.md), and every network here computes in fp32.
   */
  public NDArray toNDArray(NDManager manager) {
    Shape s = new Shape(shape);
    if (dataType == DataType.FLOAT16 || dataType == DataType.BFLOAT16) {
      return manager.create(toFloatArray(), s);
    }
    if (dataType == DataType.UINT16 || dataType == DataType.UINT32 || dataType == DataType.UINT64) {
      return manager.create(toLongArray(), s);
    }
    ByteBuffer direct = ByteBuffer.allocateDirect(data.remaining()).order(ByteOrder.nativeOrder());
    direct.put(data()).flip();
    return manager.create(direct, s, dataType);
  }

  /**
   * Index of the first NaN or infinite element of a floating-point tensor, read from the stored bytes without a copy;
   * -1 if there is none or the tensor is not floating-point.
   */
  public long firstNonFinite() {
    ByteBuffer b = data();
    long n = numel();
    switch (dataType) {
      case FLOAT32:
        for (int i = 0; i < n; i++) {
          if ((b.getInt(4 * i) & 0x7f800000) == 0x7f800000) {
            return i;
          }
        }
        return -1;
      case FLOAT64:
        for (int i = 0; i < n; i++) {
          if ((b.getLong(8 * i) & 0x7ff0000000000000L) == 0x7ff0000000000000L) {
            return i;
          }
        }
        return -1;
      case FLOAT16:
        for (int i = 0; i < n; i++) {
          if ((b.getShort(2 * i) & 0x7c00) == 0x7c00) {
            return i;
          }
        }
        return -1;
      case BFLOAT16:
        for (int i = 0; i < n; i++) {
          if ((b.getShort(2 * i) & 0x7f80) == 0x7f80) {
            return i;
          }
        }
        return -1;
      default:
        return -1;
    }
  }

  /**
   * Rows {@code [rowLo, rowHi)} and columns {@code [colLo, colHi)} of every plane of this {@code [..., H, W]} tensor,
   * as a new tensor {@code [..., rows, cols]} of the same type; positions past the bottom or right edge hold zero
   * (all-zero bytes, 0 in every type), which is how a zero-padded copy of the whole tensor would read there. Lets a
   * caller take one crop of a padded image at a time instead of padding a copy of the whole image.
   */
  public HostTensor window(long rowLo, long rowHi, long colLo, long colHi) {
    if (shape.length < 2) {
      throw new IllegalArgumentException("a window needs a tensor [..., H, W], got " + Arrays.toString(shape));
    }
    if (rowLo < 0 || colLo < 0 || rowHi <= rowLo || colHi <= colLo) {
      throw new IllegalArgumentException(
          "window rows [" + rowLo + ", " + rowHi + ") columns [" + colLo + ", " + colHi + ") is empty or negative");
    }
    long h = shape[shape.length - 2];
    long w = shape[shape.length - 1];
    long planes = numel(Arrays.copyOf(shape, shape.length - 2));
    int size = elementSize(dataType);
    long rows = rowHi - rowLo;
    long cols = colHi - colLo;
    long bytes = planes * rows * cols * size;
    if (rows > Integer.MAX_VALUE || cols > Integer.MAX_VALUE || bytes > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("window of " + rows + "x" + cols + " is too large");
    }
    byte[] out = new byte[(int) bytes];
    // The part of each row inside the stored columns; the rest stays zero.
    int inCols = (int) Math.max(0, Math.min(colHi, w) - colLo);
    for (long p = 0; p < planes; p++) {
      for (long r = rowLo; r < Math.min(rowHi, h) && inCols > 0; r++) {
        long from = ((p * h + r) * w + colLo) * size;
        long to = ((p * rows + r - rowLo) * cols) * size;
        data.get((int) from, out, (int) to, inCols * size);
      }
    }
    long[] s = shape.clone();
    s[s.length - 2] = rows;
    s[s.length - 1] = cols;
    return new HostTensor(dataType, s, ByteBuffer.wrap(out));
  }

  /** This tensor as FLOAT32 (float64 rounded to nearest, half types widened exactly); itself if already FLOAT32. */
  public HostTensor toFloat32() {
    if (dataType == DataType.FLOAT32) {
      return this;
    }
    return ofFloats(toFloatArray(), shape);
  }

  /** Values as float (any numeric dtype; F16/BF16 widened exactly). */
  public float[] toFloatArray() {
    int n = Math.toIntExact(numel());
    float[] out = new float[n];
    ByteBuffer b = data();
    switch (dataType) {
      case FLOAT32:
        b.asFloatBuffer().get(out);
        return out;
      case FLOAT16:
        for (int i = 0; i < n; i++) {
          out[i] = halfToFloat(b.getShort(2 * i));
        }
        return out;
      case BFLOAT16:
        for (int i = 0; i < n; i++) {
          out[i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xffff) << 16);
        }
        return out;
      default:
        double[] d = toDoubleArray();
        for (int i = 0; i < n; i++) {
          out[i] = (float) d[i];
        }
        return out;
    }
  }

  /** IEEE 754 binary16 to binary32, exact (Java 17 has no Float.float16ToFloat). */
  static float halfToFloat(short h) {
    int bits = h & 0xffff;
    int sign = (bits & 0x8000) << 16;
    int exp = (bits >>> 10) & 0x1f;
    int mant = bits & 0x3ff;
    if (exp == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    if (exp == 0) {
      // Subnormal (or zero): mant * 2^-24, exact in float.
      float v = mant * 0x1p-24f;
      return sign != 0 ? -v : v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  /** Values as double (any numeric dtype). */
  public double[] toDoubleArray() {
    int n = Math.toIntExact(numel());
    double[] out = new double[n];
    ByteBuffer b = data();
    switch (dataType) {
      case FLOAT64:
        b.asDoubleBuffer().get(out);
        return out;
      case FLOAT32:
      case FLOAT16:
      case BFLOAT16:
        float[] f = toFloatArray();
        for (int i = 0; i < n; i++) {
          out[i] = f[i];
        }
        return out;
      default:
        long[] l = toLongArray();
        for (int i = 0; i < n; i++) {
          out[i] = l[i];
        }
        return out;
    }
  }

  /** Values as long (integer and boolean dtypes; unsigned types zero-extended). */
  public long[] toLongArray() {
    int n = Math.toIntExact(numel());
    long[] out = new long[n];
    ByteBuffer b = data();
    for (int i = 0; i < n; i++) {
      switch (dataType) {
        case INT64:
        case UINT64:
          out[i] = b.getLong(8 * i);
          break;
        case INT32:
          out[i] = b.getInt(4 * i);
          break;
        case UINT32:
          out[i] = b.getInt(4 * i) & 0xffffffffL;
          break;
        case INT16:
          out[i] = b.getShort(2 * i);
          break;
        case UINT16:
          out[i] = b.getShort(2 * i) & 0xffff;
          break;
        case INT8:
          out[i] = b.get(i);
          break;
        case UINT8:
        case BOOLEAN:
          out[i] = b.get(i) & 0xff;
          break;
        default:
          throw new WeightsException("tensor of " + dataType + " is not an integer tensor");
      }
    }
    return out;
  }

  /** Values as int (integer dtypes; throws if a value does not fit). */
  public int[] toIntArray() {
    if (dataType == DataType.INT32) {
      int[] out = new int[Math.toIntExact(numel())];
      data().asIntBuffer().get(out);
      return out;
    }
    long[] l = toLongArray();
    int[] out = new int[l.length];
    for (int i = 0; i < l.length; i++) {
      out[i] = Math.toIntExact(l[i]);
    }
    return out;
  }

  /** The raw bytes (for UINT8 byte strings such as entropy-coded streams). */
  public byte[] toByteArray() {
    byte[] out = new byte[data.remaining()];
    data().get(out);
    return out;
  }

  @Override
  public String toString() {
    return "HostTensor(" + dataType + Arrays.toString(shape) + ")";
  }
}
