package ai.taco.entropy;

import java.util.Arrays;
import java.util.Objects;

/**
 * An immutable, validated set of quantized CDFs (precision 16) with their offsets: the {@code cdfs},
 * {@code cdf_lengths} and {@code offsets} arguments of CompressAI's {@code RansEncoder}/{@code RansDecoder}, checked
 * once so that coding needs no further checks beyond the CDF index of each symbol.
 *
 * <p>Table {@code i} codes symbol values {@code offset(i) .. offset(i) + cdfLength(i) - 3} directly; its last slot
 * ({@code cdfLength(i) - 2}, relative to the offset) is the escape into bypass coding for every other value.
 *
 * <p>Besides the CDFs, each table gets a small lookup table that maps the top bits of a cumulative frequency to a
 * nearby symbol, so that decoding needs about one comparison per symbol.
 */
public final class CdfTables {
  /** Longest CDF: one entry per symbol plus one, and at most 2^16 symbols of frequency >= 1. */
  static final int MAX_CDF_LENGTH = Rans.TOTAL + 1;

  /**
   * Lookup-table resolution above log2(number of symbols): with {@code 2^LUT_EXTRA_BITS} buckets per symbol on
   * average, the expected number of extra CDF comparisons per decoded symbol stays below {@code 2^-LUT_EXTRA_BITS}.
   * Chosen by the bench-entropy command (docs/entropy.md).
   */
  static final int LUT_EXTRA_BITS = 1;

  /** Stride of {@link #meta}: fields of table t start at {@code t * META_STRIDE}. */
  static final int META_STRIDE = 8;

  static final int M_CDF_BASE = 0;
  static final int M_MAX_VALUE = 1;
  static final int M_OFFSET = 2;
  static final int M_LUT_BASE = 3;
  static final int M_LUT_SHIFT = 4;

  private final int count;
  /** All CDFs back to back, each exactly cdfLength entries. */
  final int[] cdf;
  /** Per table: cdf base, max value (= cdfLength - 2), offset, lut base, lut shift. */
  final int[] meta;
  /** Per table, 2^(16 - shift) entries: the largest symbol s with cdf[s] <= (bucket << shift). */
  final char[] lut;

  private CdfTables(int[][] rows, int[] lengths, int[] offsets) {
    this.count = lengths.length;
    long totalLength = 0;
    long totalLut = 0;
    int[] shifts = new int[count];
    for (int t = 0; t < count; t++) {
      totalLength += lengths[t];
      shifts[t] = lutShift(lengths[t] - 1);
      totalLut += 1L << (Rans.PRECISION - shifts[t]);
    }
    if (totalLength > Integer.MAX_VALUE - 8 || totalLut > Integer.MAX_VALUE - 8) {
      throw new EntropyCodingException("CDF tables too large: " + totalLength + " entries");
    }
    this.cdf = new int[(int) totalLength];
    this.meta = new int[count * META_STRIDE];
    this.lut = new char[(int) totalLut];
    int cdfPos = 0;
    int lutPos = 0;
    for (int t = 0; t < count; t++) {
      int len = lengths[t];
      System.arraycopy(rows[t], 0, cdf, cdfPos, len);
      int m = t * META_STRIDE;
      meta[m + M_CDF_BASE] = cdfPos;
      meta[m + M_MAX_VALUE] = len - 2;
      meta[m + M_OFFSET] = offsets[t];
      meta[m + M_LUT_BASE] = lutPos;
      meta[m + M_LUT_SHIFT] = shifts[t];
      int buckets = 1 << (Rans.PRECISION - shifts[t]);
      int s = 0;
      for (int b = 0; b < buckets; b++) {
        int bucketStart = b << shifts[t];
        while (cdf[cdfPos + s + 1] <= bucketStart) {
          s++;
        }
        lut[lutPos + b] = (char) s;
      }
      cdfPos += len;
      lutPos += buckets;
    }
  }

  /** Shift of the lookup table index for a CDF with {@code symbols} symbols. */
  private static int lutShift(int symbols) {
    int bits = 32 - Integer.numberOfLeadingZeros(Math.max(symbols - 1, 0)) + LUT_EXTRA_BITS; // ceil(log2) + extra
    return Rans.PRECISION - Math.min(bits, Rans.PRECISION);
  }

  /**
   * Tables from exact rows: {@code cdfs[i]} is the whole CDF of table i (its length is the CDF length).
   *
   * @throws EntropyCodingException if a CDF is invalid (fewer than 2 entries, not starting at 0, not ending at 65536,
   *     not strictly increasing, longer than 65537) or the arrays disagree in length
   */
  public static CdfTables of(int[][] cdfs, int[] offsets) {
    Objects.requireNonNull(cdfs, "cdfs");
    int[] lengths = new int[cdfs.length];
    for (int t = 0; t < cdfs.length; t++) {
      lengths[t] = Objects.requireNonNull(cdfs[t], "cdfs[" + t + "]").length;
    }
    return fromPadded(cdfs, lengths, offsets);
  }

  /**
   * Tables in CompressAI's padded layout ({@code _quantized_cdf}, {@code _cdf_length}, {@code _offset}): row i holds
   * {@code cdfLengths[i]} entries followed by ignored padding.
   *
   * @throws EntropyCodingException if the arrays disagree in length, a row is shorter than its CDF length, a CDF is
   *     invalid, or an offset would put in-table symbol values outside the int range
   */
  public static CdfTables fromPadded(int[][] cdfs, int[] cdfLengths, int[] offsets) {
    Objects.requireNonNull(cdfs, "cdfs");
    Objects.requireNonNull(cdfLengths, "cdfLengths");
    Objects.requireNonNull(offsets, "offsets");
    int n = cdfs.length;
    if (cdfLengths.length != n || offsets.length != n) {
      throw new EntropyCodingException(
          "CDF tables: " + n + " cdfs but " + cdfLengths.length + " lengths and " + offsets.length + " offsets");
    }
    int[][] rows = new int[n][];
    int[] lengths = cdfLengths.clone();
    int[] offs = offsets.clone();
    for (int t = 0; t < n; t++) {
      int[] row = Objects.requireNonNull(cdfs[t], "cdfs[" + t + "]");
      checkLength(t, lengths[t], row.length);
      rows[t] = Arrays.copyOf(row, lengths[t]);
      checkTable(t, rows[t], 0, lengths[t], offs[t]);
    }
    return new CdfTables(rows, lengths, offs);
  }

  /**
   * Tables from a row-major {@code [cdfLengths.length, rowStride]} int array, as a {@code _quantized_cdf} tensor is
   * stored.
   *
   * @throws EntropyCodingException as {@link #fromPadded(int[][], int[], int[])}, or if {@code flat} does not hold
   *     {@code cdfLengths.length * rowStride} entries
   */
  public static CdfTables fromPadded(int[] flat, int rowStride, int[] cdfLengths, int[] offsets) {
    Objects.requireNonNull(flat, "flat");
    Objects.requireNonNull(cdfLengths, "cdfLengths");
    Objects.requireNonNull(offsets, "offsets");
    int n = cdfLengths.length;
    if (offsets.length != n) {
      throw new EntropyCodingException("CDF tables: " + n + " lengths but " + offsets.length + " offsets");
    }
    if (rowStride < 0 || (long) n * rowStride != flat.length) {
      throw new EntropyCodingException(
          "CDF tables: " + flat.length + " entries do not form " + n + " rows of " + rowStride);
    }
    int[][] rows = new int[n][];
    for (int t = 0; t < n; t++) {
      checkLength(t, cdfLengths[t], rowStride);
      rows[t] = Arrays.copyOfRange(flat, t * rowStride, t * rowStride + cdfLengths[t]);
    }
    return fromPadded(rows, cdfLengths, offsets);
  }

  private static void checkLength(int t, int length, int rowLength) {
    if (length < 2 || length > MAX_CDF_LENGTH) {
      throw new EntropyCodingException("CDF " + t + ": length " + length + " outside 2.." + MAX_CDF_LENGTH);
    }
    if (length > rowLength) {
      throw new EntropyCodingException("CDF " + t + ": length " + length + " exceeds its row of " + rowLength);
    }
  }

  private static void checkTable(int t, int[] row, int from, int length, int offset) {
    String problem = QuantizedCdf.check(row, from, length, Rans.TOTAL);
    if (problem != null) {
      throw new EntropyCodingException("CDF " + t + ": " + problem);
    }
    if ((long) offset + (length - 2) > Integer.MAX_VALUE) {
      throw new EntropyCodingException(
          "CDF " + t + ": offset " + offset + " puts symbol values beyond the int range");
    }
  }

  /** Number of tables. */
  public int size() {
    return count;
  }

  /** Number of CDF entries of table {@code t} (number of symbols + 1, the last symbol being the bypass escape). */
  public int cdfLength(int t) {
    Objects.checkIndex(t, count);
    return meta[t * META_STRIDE + M_MAX_VALUE] + 2;
  }

  /** Symbol value coded by slot 0 of table {@code t}. */
  public int offset(int t) {
    Objects.checkIndex(t, count);
    return meta[t * META_STRIDE + M_OFFSET];
  }

  /** A copy of the CDF of table {@code t}. */
  public int[] cdf(int t) {
    Objects.checkIndex(t, count);
    int base = meta[t * META_STRIDE + M_CDF_BASE];
    return Arrays.copyOfRange(cdf, base, base + cdfLength(t));
  }

  /** Throws unless {@code index} names a table; {@code position} is for the message. */
  EntropyCodingException badIndex(int index, long position) {
    return new EntropyCodingException(
        "CDF index " + index + " at position " + position + " outside 0.." + (count - 1));
  }
}
