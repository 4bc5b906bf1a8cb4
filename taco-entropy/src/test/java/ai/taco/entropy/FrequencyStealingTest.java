package ai.taco.entropy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The O(n log n) frequency-stealing pass of {@link QuantizedCdf} against a literal transcription of the reference's
 * O(n^2) loop (CompressAI ops.cpp), on random tables full of zero frequencies, including tables whose uint32
 * arithmetic wraps.
 */
class FrequencyStealingTest {

  /** The reference loop, statement by statement, on uint32 values held in ints. */
  private static int[] literal(int[] input) {
    int[] cdf = input.clone();
    for (int i = 0; i < cdf.length - 1; i++) {
      if (cdf[i] == cdf[i + 1]) {
        int bestFreq = -1;
        int bestSteal = -1;
        for (int j = 0; j < cdf.length - 1; j++) {
          int freq = cdf[j + 1] - cdf[j];
          if (Integer.compareUnsigned(freq, 1) > 0 && Integer.compareUnsigned(freq, bestFreq) < 0) {
            bestFreq = freq;
            bestSteal = j;
          }
        }
        if (bestSteal == -1) {
          return null; // the reference would corrupt cdf[0]; both versions must refuse
        }
        if (bestSteal < i) {
          for (int j = bestSteal + 1; j <= i; j++) {
            cdf[j]--;
          }
        } else {
          for (int j = i + 1; j <= bestSteal; j++) {
            cdf[j]++;
          }
        }
      }
    }
    return cdf;
  }

  private static int[] fast(int[] input) {
    int[] cdf = input.clone();
    try {
      QuantizedCdf.stealForZeroFrequencies(cdf);
      return cdf;
    } catch (EntropyCodingException e) {
      return null;
    }
  }

  @Test
  void sameResultAsTheReferenceLoop() {
    SplittableRandom rnd = new SplittableRandom(77);
    int refused = 0;
    for (int trial = 0; trial < 3000; trial++) {
      int n = 1 + rnd.nextInt(trial < 2500 ? 40 : 400);
      int[] cdf = new int[n + 1];
      boolean wild = trial % 10 == 9;
      for (int j = 1; j <= n; j++) {
        int step = rnd.nextInt(3) == 0 ? 0 : 1 + rnd.nextInt(rnd.nextBoolean() ? 3 : 2000);
        cdf[j] = wild && rnd.nextInt(8) == 0 ? rnd.nextInt() : cdf[j - 1] + step;
      }
      int[] expected = literal(cdf);
      int[] actual = fast(cdf);
      if (expected == null) {
        refused++;
      }
      assertArrayEquals(expected, actual, "trial " + trial);
    }
    assertEquals(true, refused > 0 && refused < 3000, "both outcomes occur: " + refused);
  }

  @Test
  void fullTableOfZerosIsRepairedQuickly() {
    // One non-zero entry and 65535 zeros: every zero takes one count from symbol 0 (the only donor), leaving all
    // 65536 frequencies at 1. The reference's quadratic loop needs ~4e9 steps here.
    float[] pmf = new float[1 << 16];
    pmf[0] = 1f;
    int[] cdf = QuantizedCdf.fromPmf(pmf, 16);
    for (int j = 0; j < cdf.length; j++) {
      assertEquals(j, cdf[j]);
    }
  }
}
