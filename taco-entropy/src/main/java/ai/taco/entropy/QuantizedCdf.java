package ai.taco.entropy;

import java.util.Objects;
import java.util.TreeSet;

/**
 * Quantized cumulative distribution functions, as CompressAI builds and checks them.
 *
 * <p>{@link #fromPmf(float[], int)} reproduces {@code compressai._CXX.pmf_to_quantized_cdf} (CompressAI 1.2.6,
 * {@code cpp_exts/ops/ops.cpp}) bit for bit: each float32 probability is scaled by {@code 2^precision} in float32 and
 * rounded half away from zero, the counts are rescaled to a total of {@code 2^precision} with 64-bit integer division,
 * summed into a CDF, the last entry forced to {@code 2^precision}, and every zero-frequency symbol then "steals" one
 * count from the lowest frequency above 1 (first such symbol in index order). The integer arithmetic is 32-bit
 * unsigned with wrap-around as in the C++. Where the reference is undefined or returns a table that is not a valid
 * CDF, this class throws instead.
 */
public final class QuantizedCdf {
  private QuantizedCdf() {}

  /** Largest precision accepted by {@link #fromPmf}: keeps {@code 1 << precision} and the rescale in range. */
  static final int MAX_PRECISION = 30;

  /**
   * The quantized CDF of {@code pmf}: {@code pmf.length + 1} strictly increasing entries from 0 to
   * {@code 1 << precision}.
   *
   * @param pmf non-negative finite probabilities (need not sum to 1; at least one must round to a non-zero count)
   * @param precision bits of resolution, 1..30 (CompressAI and the rANS coder use 16)
   * @throws EntropyCodingException if an element is negative or not finite, all counts are zero, an element is too
   *     large to count in 32 bits, there are more symbols than {@code 1 << precision}, or the result is not a valid
   *     CDF
   */
  public static int[] fromPmf(float[] pmf, int precision) {
    Objects.requireNonNull(pmf, "pmf");
    if (precision < 1 || precision > MAX_PRECISION) {
      throw new EntropyCodingException("precision " + precision + " outside 1.." + MAX_PRECISION);
    }
    final int n = pmf.length;
    final int total = 1 << precision;
    if (n == 0) {
      throw new EntropyCodingException("Invalid pmf: empty (at least one element must have non-zero probability)");
    }
    if (n > total) {
      // Every symbol needs a count of at least 1, so no valid CDF exists (the reference fails an assert here).
      throw new EntropyCodingException(
          "Invalid pmf: " + n + " symbols cannot all have non-zero frequency at precision " + precision);
    }
    for (int i = 0; i < n; i++) {
      float p = pmf[i];
      if (p < 0 || !Float.isFinite(p)) {
        throw new EntropyCodingException("Invalid pmf: non-finite or negative element " + p + " at " + i);
      }
    }

    // cdf[k] holds uint32 values (compared unsigned below), exactly as the C++ std::vector<uint32_t>.
    int[] cdf = new int[n + 1];
    final float scale = (float) total; // float * int promotes the int to float in C++; 2^precision is exact
    int sum = 0; // C++: std::accumulate(..., 0) with an int accumulator: wraps modulo 2^32
    for (int i = 0; i < n; i++) {
      float scaled = pmf[i] * scale;
      // std::round on a float: half away from zero; for values >= 0 that is floor(x + 0.5), exact in double.
      double rounded = Math.floor((double) scaled + 0.5);
      if (rounded >= 0x1p32) {
        // Converting such a float to uint32_t is undefined behaviour in the reference.
        throw new EntropyCodingException("Invalid pmf: element " + pmf[i] + " at " + i + " too large to quantize");
      }
      int count = (int) (long) rounded;
      cdf[i + 1] = count;
      sum += count;
    }
    final long totalCount = Integer.toUnsignedLong(sum);
    if (totalCount == 0) {
      throw new EntropyCodingException("Invalid pmf: at least one element must have a non-zero probability");
    }
    for (int i = 0; i <= n; i++) {
      // (uint64_t(1 << precision) * p) / total, stored back into a uint32 (truncating).
      cdf[i] = (int) (((long) total * Integer.toUnsignedLong(cdf[i])) / totalCount);
    }
    for (int i = 1; i <= n; i++) {
      cdf[i] += cdf[i - 1]; // std::partial_sum on uint32: wraps
    }
    cdf[n] = total;

    stealForZeroFrequencies(cdf);
    String problem = check(cdf, 0, cdf.length, total);
    if (problem != null) {
      throw new EntropyCodingException("pmf does not give a valid quantized CDF: " + problem);
    }
    return cdf;
  }

  /**
   * The reference's repair pass: each symbol i with zero frequency (visited left to right, seeing earlier repairs)
   * takes one count from the symbol with the smallest frequency greater than 1 (the first in index order among
   * ties). The reference shifts the CDF entries between the two by one, which changes exactly these two frequencies
   * (also under its mod-2^32 arithmetic), so this works on frequencies with an ordered set: O(n log n) instead of the
   * reference's O(n^2), same result.
   */
  static void stealForZeroFrequencies(int[] cdf) {
    final int n = cdf.length - 1;
    int[] freq = new int[n];
    TreeSet<Long> donors = new TreeSet<>(); // (unsigned freq, index), smallest first
    for (int j = 0; j < n; j++) {
      freq[j] = cdf[j + 1] - cdf[j]; // uint32 difference
      if (Integer.compareUnsigned(freq[j], 1) > 0) {
        donors.add(donorKey(freq[j], j));
      }
    }
    boolean changed = false;
    for (int i = 0; i < n; i++) {
      if (freq[i] != 0) {
        continue;
      }
      Long donor = donors.pollFirst();
      if (donor == null) {
        // The reference only asserts here (assertions are off in release builds) and then writes cdf[0] = -1.
        throw new EntropyCodingException(
            "pmf does not give a valid quantized CDF: no frequency left to steal for symbol " + i);
      }
      int best = (int) (donor & INDEX_MASK);
      freq[best]--;
      if (Integer.compareUnsigned(freq[best], 1) > 0) {
        donors.add(donorKey(freq[best], best));
      }
      freq[i] = 1;
      changed = true;
    }
    if (changed) {
      for (int j = 0; j < n; j++) {
        cdf[j + 1] = cdf[j] + freq[j];
      }
    }
  }

  /** Bits for a symbol index in a donor key: pmfs have at most 2^30 entries. */
  private static final int INDEX_BITS = 31;

  private static final long INDEX_MASK = (1L << INDEX_BITS) - 1;

  private static long donorKey(int freq, int index) {
    return Integer.toUnsignedLong(freq) << INDEX_BITS | index;
  }

  /**
   * Checks that {@code cdf} is a valid quantized CDF for the rANS coder (precision 16): at least 2 entries, first 0,
   * last 65536, strictly increasing.
   *
   * @throws EntropyCodingException naming the first problem found
   */
  public static void validate(int[] cdf) {
    Objects.requireNonNull(cdf, "cdf");
    String problem = check(cdf, 0, cdf.length, Rans.TOTAL);
    if (problem != null) {
      throw new EntropyCodingException("invalid CDF: " + problem);
    }
  }

  /** The first problem of {@code cdf[from .. from+length)} as a CDF ending at {@code total}, or null if valid. */
  static String check(int[] cdf, int from, int length, int total) {
    if (length < 2) {
      return "length " + length + " < 2";
    }
    if (cdf[from] != 0) {
      return "first entry is " + cdf[from] + ", expected 0";
    }
    if (cdf[from + length - 1] != total) {
      return "last entry (at " + (length - 1) + ") is " + cdf[from + length - 1] + ", expected " + total;
    }
    for (int j = 1; j < length; j++) {
      if (cdf[from + j] <= cdf[from + j - 1]) {
        return "not strictly increasing at " + j + " (" + cdf[from + j - 1] + " then " + cdf[from + j] + ")";
      }
    }
    return null;
  }
}
