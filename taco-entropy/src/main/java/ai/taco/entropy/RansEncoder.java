package ai.taco.entropy;

import java.util.Arrays;
import java.util.Objects;

/**
 * rANS encoder producing exactly the bytes of CompressAI 1.2.6's {@code RansEncoder.encode_with_indexes} and
 * {@code BufferedRansEncoder} ({@code encode_with_indexes} any number of times, then {@code flush}).
 *
 * <p>Use {@link #encode(int[], int[], CdfTables)} for one batch of symbols, or an instance as the buffered encoder:
 * {@link #encodeWithIndexes} for each batch (each may use different tables), then {@link #flush()} for the bytes of
 * all of them, which equal the bytes of one {@code encode} of the concatenation.
 *
 * <p>Symbol {@code symbols[i]} is coded with table {@code indexes[i]}: value {@code v = symbols[i] - offset}. Values
 * {@code 0 <= v < cdfLength - 2} are coded with their CDF slot; any other value is coded as the escape slot
 * {@code cdfLength - 2} followed by raw 4-bit nibbles (bypass mode). Values may lie up to about 2^30 outside the
 * table; farther ones are rejected (the reference encoder hangs on them).
 *
 * <p>Unlike the reference, 0 and 1 symbols are fine (0 symbols give the 8 bytes {@code 00 00 00 80 00 00 00 00}).
 * An instance is not thread-safe.
 */
public final class RansEncoder {
  /**
   * Buffered coding steps in input order, 4 bytes each (at 100 MP, 126 M steps: 0.5 GB instead of 1 GB as longs). A
   * normal step packs {@code start | (freq - 1) << 16}: the tables are validated (strictly increasing from 0 to
   * 2^16), so {@code 0 <= start < 2^16}, {@code 1 <= freq <= 2^16} and {@code start + freq <= 2^16}. A bypass nibble
   * is {@code 0xFFFF | (1 + nibble) << 16}: start 0xFFFF with a frequency above 1, which no normal step has.
   */
  private int[] steps = new int[64];

  private int size;

  /** Start field of a bypass step (a normal step with this start has frequency 1). */
  private static final int BYPASS = 0xFFFF;

  /** Bit position of the frequency field in a step. */
  private static final int FREQ_SHIFT = 16;

  /** A new encoder with nothing buffered. */
  public RansEncoder() {}

  /**
   * An encoder whose step buffer starts at {@code expectedSymbols} steps (one per symbol; bypass nibbles add a few),
   * for a caller that knows how many symbols it will buffer: one array of the final size instead of doubling from 64,
   * which for 126 M symbols held the old and the new 0.5-1 GB arrays at the same time.
   */
  public RansEncoder(int expectedSymbols) {
    steps = new int[Math.max(64, expectedSymbols)];
  }

  /**
   * Encodes {@code symbols} with the tables named by {@code indexes} in one stream (CompressAI's
   * {@code RansEncoder().encode_with_indexes}).
   *
   * @throws EntropyCodingException if the lengths differ, an index names no table, or a symbol is too far outside
   *     its table's range to be bypass-coded
   */
  public static byte[] encode(int[] symbols, int[] indexes, CdfTables tables) {
    RansEncoder encoder = new RansEncoder(symbols.length);
    encoder.encodeWithIndexes(symbols, indexes, tables);
    return encoder.flush();
  }

  /**
   * Buffers {@code symbols} coded with the tables named by {@code indexes} (CompressAI's
   * {@code BufferedRansEncoder.encode_with_indexes}). On an exception nothing of this call stays buffered.
   *
   * @throws EntropyCodingException if the lengths differ, an index names no table, or a symbol is too far outside
   *     its table's range to be bypass-coded
   */
  public void encodeWithIndexes(int[] symbols, int[] indexes, CdfTables tables) {
    Objects.requireNonNull(symbols, "symbols");
    Objects.requireNonNull(indexes, "indexes");
    if (symbols.length != indexes.length) {
      throw new EntropyCodingException(
          "symbols and indexes differ in length: " + symbols.length + " vs " + indexes.length);
    }
    encodeWithIndexes(symbols, 0, indexes, 0, symbols.length, tables);
  }

  /**
   * Buffers {@code count} symbols from {@code symbols[symbolOffset..]} coded with the tables named by
   * {@code indexes[indexOffset..]}. On an exception nothing of this call stays buffered.
   *
   * @throws IndexOutOfBoundsException if a range falls outside its array
   * @throws EntropyCodingException if an index names no table or a symbol is too far outside its table's range
   */
  public void encodeWithIndexes(
      int[] symbols, int symbolOffset, int[] indexes, int indexOffset, int count, CdfTables tables) {
    Objects.requireNonNull(symbols, "symbols");
    Objects.requireNonNull(indexes, "indexes");
    Objects.requireNonNull(tables, "tables");
    Objects.checkFromIndexSize(symbolOffset, count, symbols.length);
    Objects.checkFromIndexSize(indexOffset, count, indexes.length);
    final int mark = size;
    final int[] cdf = tables.cdf;
    final int[] meta = tables.meta;
    final int nTables = tables.size();
    try {
      for (int i = 0; i < count; i++) {
        int t = indexes[indexOffset + i];
        if (t < 0 || t >= nTables) {
          throw tables.badIndex(t, i);
        }
        int m = t * CdfTables.META_STRIDE;
        int base = meta[m + CdfTables.M_CDF_BASE];
        int maxValue = meta[m + CdfTables.M_MAX_VALUE];
        long value = (long) symbols[symbolOffset + i] - meta[m + CdfTables.M_OFFSET];
        if (value >= 0 && value < maxValue) {
          int start = cdf[base + (int) value];
          push(normal(start, cdf[base + (int) value + 1] - start));
        } else {
          // Escape slot, then the raw value: negative v -> -2v-1 (odd), v >= maxValue -> 2(v - maxValue) (even).
          long raw = value < 0 ? -2 * value - 1 : 2 * (value - maxValue);
          if (raw >= Rans.MAX_RAW_EXCLUSIVE) {
            throw new EntropyCodingException(
                "symbol " + symbols[symbolOffset + i] + " at position " + i + " is too far outside the range of CDF "
                    + t + " to be bypass-coded");
          }
          int start = cdf[base + maxValue];
          push(normal(start, cdf[base + maxValue + 1] - start));
          pushBypass(raw);
        }
      }
    } catch (RuntimeException e) {
      size = mark;
      throw e;
    }
  }

  private void pushBypass(long raw) {
    int nBypass = 0;
    while ((raw >>> (nBypass * Rans.BYPASS_PRECISION)) != 0) {
      nBypass++;
    }
    // The nibble count, in unary-ish chunks of 15 (never more than one chunk here, since nBypass <= 8).
    int val = nBypass;
    while (val >= Rans.MAX_BYPASS_VAL) {
      push(bypass(Rans.MAX_BYPASS_VAL));
      val -= Rans.MAX_BYPASS_VAL;
    }
    push(bypass(val));
    for (int j = 0; j < nBypass; j++) {
      push(bypass((int) (raw >>> (j * Rans.BYPASS_PRECISION)) & Rans.MAX_BYPASS_VAL));
    }
  }

  private static int normal(int start, int freq) {
    return start | (freq - 1) << FREQ_SHIFT;
  }

  private static int bypass(int nibble) {
    return BYPASS | (1 + nibble) << FREQ_SHIFT;
  }

  private void push(int step) {
    if (size == steps.length) {
      if (size >= Integer.MAX_VALUE - 16) {
        throw new EntropyCodingException("too many symbols buffered: " + size);
      }
      steps = Arrays.copyOf(steps, (int) Math.min(Integer.MAX_VALUE - 16L, 2L * size));
    }
    steps[size++] = step;
  }

  /** Number of coding steps buffered (symbols plus bypass nibbles). */
  public int bufferedSteps() {
    return size;
  }

  /**
   * The bytes of everything buffered since the last flush (CompressAI's {@code BufferedRansEncoder.flush}); the
   * encoder is empty afterwards.
   *
   * <p>The steps are coded last to first from the initial state 2^31, each emitting at most one 32-bit word to the
   * front of the output; the final state is then put in front as two words (low, high). Words are little-endian.
   */
  public byte[] flush() {
    final int[] s = steps;
    final int n = size;
    // At most one word per step, plus the state (the reference allots n); filled from the back in a buffer grown as
    // needed, since coded latents take far fewer words than steps (one of n + 2 words was 0.5 GB at 100 MP).
    int[] out = new int[Math.min(n, INITIAL_WORDS) + 2];
    int p = out.length;
    long x = Rans.RANS_L;
    for (int i = n - 1; i >= 0; i--) {
      int step = s[i];
      int start = step & 0xFFFF;
      int freq = (step >>> FREQ_SHIFT) + 1;
      if (p < 3) {
        // Room for this step's word and the final two state words is kept at the front.
        int[] grown = new int[(int) Math.min(n + 2L, 2L * out.length)];
        int used = out.length - p;
        System.arraycopy(out, p, grown, grown.length - used, used);
        p = grown.length - used;
        out = grown;
      }
      if (start != BYPASS || freq == 1) {
        if ((x >>> Rans.ENC_SHIFT) >= freq) {
          out[--p] = (int) x;
          x >>>= 32;
        }
        // x is below 2^63 here, so signed division is the unsigned one.
        long q = x / freq;
        x = (q << Rans.PRECISION) + (x - q * freq) + start;
      } else {
        if ((x >>> Rans.ENC_BYPASS_SHIFT) != 0) {
          out[--p] = (int) x;
          x >>>= 32;
        }
        x = (x << Rans.BYPASS_PRECISION) | (freq - 2);
      }
    }
    out[--p] = (int) (x >>> 32);
    out[--p] = (int) x;
    size = 0;
    if (steps.length > 1 << 16) {
      steps = new int[64]; // do not keep a large buffer alive between frames
    }
    return Words.toBytes(out, p, out.length - p);
  }

  /** Words the output buffer of {@link #flush} starts with (it doubles when full). */
  private static final int INITIAL_WORDS = 1 << 16;
}
