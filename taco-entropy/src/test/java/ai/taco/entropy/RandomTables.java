package ai.taco.entropy;

import java.util.SplittableRandom;

/** Random valid table sets for property and fuzz tests, built through {@link QuantizedCdf#fromPmf}. */
final class RandomTables {
  private RandomTables() {}

  /** A random pmf of {@code length} entries: peaked, flat or sparse (with zeros), not normalised. */
  static float[] pmf(SplittableRandom rnd, int length) {
    float[] pmf = new float[length];
    int kind = rnd.nextInt(3);
    double center = rnd.nextDouble() * length;
    double width = 0.3 + rnd.nextDouble() * length;
    boolean any = false;
    for (int i = 0; i < length; i++) {
      double p =
          switch (kind) {
            case 0 -> Math.exp(-Math.abs(i - center) / width); // Laplacian-like
            case 1 -> rnd.nextDouble();
            default -> rnd.nextInt(4) == 0 ? rnd.nextDouble() : 0.0; // sparse
          };
      pmf[i] = (float) p;
      any |= p > 1e-4;
    }
    if (!any) {
      pmf[rnd.nextInt(length)] = 1f;
    }
    return pmf;
  }

  /** {@code n} tables with CDF lengths 2..maxLength+1 and offsets in [-maxLength, 0]. */
  static CdfTables tables(SplittableRandom rnd, int n, int maxLength) {
    int[][] cdfs = new int[n][];
    int[] offsets = new int[n];
    for (int t = 0; t < n; t++) {
      int length = 1 + rnd.nextInt(maxLength);
      cdfs[t] = QuantizedCdf.fromPmf(pmf(rnd, length), 16);
      offsets[t] = -rnd.nextInt(length + 1);
    }
    return CdfTables.of(cdfs, offsets);
  }

  /**
   * {@code count} symbols for {@code indexes}: mostly in the table's range, some on the escape slot and just
   * outside, some far outside (up to the bypass limit of 2^30 from the table).
   */
  static int[] symbols(SplittableRandom rnd, int[] indexes, CdfTables tables) {
    int[] s = new int[indexes.length];
    for (int i = 0; i < s.length; i++) {
      int t = indexes[i];
      int off = tables.offset(t);
      int max = tables.cdfLength(t) - 2; // escape slot, relative to the offset
      int r = rnd.nextInt(100);
      long v;
      if (r < 80) {
        v = max == 0 ? 0 : rnd.nextInt(max);
      } else if (r < 88) {
        v = max + rnd.nextInt(3) - 1; // just below, on, just above the escape slot
      } else if (r < 93) {
        v = -1 - rnd.nextInt(3);
      } else if (r < 98) {
        v = rnd.nextBoolean() ? max + rnd.nextLong(1L << 22) : -rnd.nextLong(1L << 22) - 1;
      } else {
        // Extremes of the bypass range: v in [-2^30, max + 2^30).
        v = rnd.nextBoolean() ? max + (1L << 30) - 1 - rnd.nextInt(16) : -(1L << 30) + rnd.nextInt(16);
      }
      s[i] = (int) (v + off);
    }
    return s;
  }

  static int[] indexes(SplittableRandom rnd, int count, int nTables) {
    int[] idx = new int[count];
    for (int i = 0; i < count; i++) {
      idx[i] = rnd.nextInt(nTables);
    }
    return idx;
  }
}
