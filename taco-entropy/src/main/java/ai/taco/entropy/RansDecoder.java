package ai.taco.entropy;

import java.util.Objects;

/**
 * rANS decoder for the streams of {@link RansEncoder} and of CompressAI 1.2.6's {@code RansEncoder} /
 * {@code BufferedRansEncoder}: the same values as CompressAI's {@code RansDecoder.decode_with_indexes}, and, for a
 * decoder object, as {@code set_stream} followed by {@code decode_stream} calls that continue where the previous one
 * stopped (TACO decodes the anchors and then the non-anchors of each latent slice from one stream this way).
 *
 * <p>Robust to corrupt input: a stream shorter than the 8-byte final state, reading past the end of the stream, an
 * index that names no table, or an impossible bypass length ends in an {@link EntropyCodingException}; every call
 * runs in time linear in the number of indexes. Garbage that stays within these limits decodes to garbage values, as
 * it does in the reference (rANS has no redundancy to detect it); {@link #isComplete()} tells whether a stream was
 * consumed exactly. After an exception the decoder refuses further calls until {@link #setStream} is called. An
 * instance is not thread-safe.
 */
public final class RansDecoder {
  private int[] words;
  private int pos;
  private long state;
  private String failure = "no stream set";

  /** A decoder without a stream: call {@link #setStream} first. */
  public RansDecoder() {}

  /**
   * A decoder positioned at the start of {@code stream} (CompressAI's {@code set_stream}).
   *
   * @throws EntropyCodingException if the stream is shorter than the 8 bytes of the final state
   */
  public RansDecoder(byte[] stream) {
    setStream(stream);
  }

  /**
   * Starts decoding {@code stream} (copied: later changes to the array do not matter).
   *
   * @throws EntropyCodingException if the stream is shorter than the 8 bytes of the final state
   */
  public void setStream(byte[] stream) {
    Objects.requireNonNull(stream, "stream");
    setStream(stream, 0, stream.length);
  }

  /**
   * Starts decoding the {@code length} bytes of {@code data} from {@code offset} (copied), e.g. one string inside a
   * container file.
   *
   * @throws IndexOutOfBoundsException if the range falls outside {@code data}
   * @throws EntropyCodingException if the stream is shorter than the 8 bytes of the final state
   */
  public void setStream(byte[] data, int offset, int length) {
    Objects.requireNonNull(data, "data");
    Objects.checkFromIndexSize(offset, length, data.length);
    failure = "stream could not be read";
    words = null;
    if (length < 8) {
      throw new EntropyCodingException(
          "rANS stream of " + length + " bytes is shorter than its 8-byte final state");
    }
    words = Words.fromBytes(data, offset, length);
    state = Integer.toUnsignedLong(words[0]) | (long) words[1] << 32;
    pos = 2;
    failure = null;
  }

  /**
   * Decodes {@code encoded} in one call (CompressAI's {@code RansDecoder().decode_with_indexes}).
   *
   * @throws EntropyCodingException if the stream is too short, truncated or corrupt, or an index names no table
   */
  public static int[] decode(byte[] encoded, int[] indexes, CdfTables tables) {
    return new RansDecoder(encoded).decodeStream(indexes, tables);
  }

  /**
   * Decodes one value per entry of {@code indexes}, continuing from the previous call (CompressAI's
   * {@code decode_stream}).
   *
   * @throws EntropyCodingException if the stream ends too early or is corrupt, or an index names no table
   */
  public int[] decodeStream(int[] indexes, CdfTables tables) {
    Objects.requireNonNull(indexes, "indexes");
    int[] out = new int[indexes.length];
    decodeStream(indexes, 0, indexes.length, tables, out, 0);
    return out;
  }

  /**
   * Decodes {@code count} values with the tables named by {@code indexes[indexOffset..]} into
   * {@code out[outOffset..]}, continuing from the previous call. Allocates nothing.
   *
   * @throws IndexOutOfBoundsException if a range falls outside its array
   * @throws EntropyCodingException if the stream ends too early or is corrupt, or an index names no table
   */
  public void decodeStream(
      int[] indexes, int indexOffset, int count, CdfTables tables, int[] out, int outOffset) {
    Objects.requireNonNull(indexes, "indexes");
    Objects.requireNonNull(tables, "tables");
    Objects.requireNonNull(out, "out");
    Objects.checkFromIndexSize(indexOffset, count, indexes.length);
    Objects.checkFromIndexSize(outOffset, count, out.length);
    if (failure != null) {
      throw new EntropyCodingException("rANS decoder unusable: " + failure);
    }
    failure = "an earlier call failed";
    final int[] w = words;
    final int nWords = w.length;
    final int[] cdf = tables.cdf;
    final int[] meta = tables.meta;
    final char[] lut = tables.lut;
    final int nTables = tables.size();
    long x = state;
    int p = pos;
    for (int i = 0; i < count; i++) {
      final int t = indexes[indexOffset + i];
      if (t < 0 || t >= nTables) {
        throw tables.badIndex(t, i);
      }
      final int m = t * CdfTables.META_STRIDE;
      final int base = meta[m + CdfTables.M_CDF_BASE];
      final int cum = (int) x & (Rans.TOTAL - 1);
      int s = lut[meta[m + CdfTables.M_LUT_BASE] + (cum >>> meta[m + CdfTables.M_LUT_SHIFT])];
      int lo = cdf[base + s];
      int hi = cdf[base + s + 1];
      while (hi <= cum) { // ends: the last entry is 2^16 > cum, and the CDF is strictly increasing
        s++;
        lo = hi;
        hi = cdf[base + s + 1];
      }
      // x = freq * (x >> 16) + (x & mask) - start, in wrapping unsigned 64-bit arithmetic like the reference.
      x = (long) (hi - lo) * (x >>> Rans.PRECISION) + (cum - lo);
      if ((x >>> Rans.L_BITS) == 0) {
        if (p >= nWords) {
          throw pastEnd(i);
        }
        x = (x << 32) | Integer.toUnsignedLong(w[p++]);
      }
      final int maxValue = meta[m + CdfTables.M_MAX_VALUE];
      if (s != maxValue) {
        out[outOffset + i] = s + meta[m + CdfTables.M_OFFSET];
        continue;
      }
      // Bypass mode: a nibble count, then that many raw nibbles, least significant first.
      int nBypass = (int) x & Rans.MAX_BYPASS_VAL;
      x >>>= Rans.BYPASS_PRECISION;
      if ((x >>> Rans.L_BITS) == 0) {
        if (p >= nWords) {
          throw pastEnd(i);
        }
        x = (x << 32) | Integer.toUnsignedLong(w[p++]);
      }
      if (nBypass > Rans.MAX_BYPASS_NIBBLES) {
        // Includes the continuation marker 15: the reference encoder never writes more than 8 nibbles.
        throw new EntropyCodingException(
            "corrupt rANS stream: bypass length " + nBypass + (nBypass == Rans.MAX_BYPASS_VAL ? "+" : "")
                + " nibbles at position " + i + " (at most " + Rans.MAX_BYPASS_NIBBLES + ")");
      }
      long raw = 0;
      final int rawBits = nBypass * Rans.BYPASS_PRECISION;
      if ((x >>> rawBits >>> Rans.L_BITS) != 0) {
        // The state keeps >= L after all nibbles, so no word is read in between: take them at once.
        raw = x & ((1L << rawBits) - 1);
        x >>>= rawBits;
        nBypass = 0;
      }
      for (int j = 0; j < nBypass; j++) {
        raw |= (x & Rans.MAX_BYPASS_VAL) << (j * Rans.BYPASS_PRECISION);
        x >>>= Rans.BYPASS_PRECISION;
        if ((x >>> Rans.L_BITS) == 0) {
          if (p >= nWords) {
            throw pastEnd(i);
          }
          x = (x << 32) | Integer.toUnsignedLong(w[p++]);
        }
      }
      if (raw >= Rans.MAX_RAW_EXCLUSIVE) {
        throw new EntropyCodingException(
            "corrupt rANS stream: bypass value " + raw + " at position " + i + " exceeds 31 bits");
      }
      long v = (raw & 1) != 0 ? -(raw >>> 1) - 1 : (raw >>> 1) + maxValue;
      long value = v + meta[m + CdfTables.M_OFFSET];
      if (value != (int) value) {
        throw new EntropyCodingException(
            "corrupt rANS stream: bypass value at position " + i + " decodes outside the int range");
      }
      out[outOffset + i] = (int) value;
    }
    state = x;
    pos = p;
    failure = null;
  }

  private EntropyCodingException pastEnd(int position) {
    return new EntropyCodingException(
        "truncated or corrupt rANS stream: needs more than its " + words.length + " words at position " + position);
  }

  /**
   * Whether the stream was consumed exactly: every word read and the state back at the encoder's initial value. True
   * after decoding all symbols of a well-formed stream (a cheap integrity check the reference does not make).
   */
  public boolean isComplete() {
    return failure == null && pos == words.length && state == Rans.RANS_L;
  }
}
