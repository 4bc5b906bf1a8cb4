package ai.taco.entropy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link QuantizedCdf#fromPmf} against CompressAI 1.2.6's {@code pmf_to_quantized_cdf} (golden/entropy). */
class QuantizedCdfGoldenTest {

  @Test
  void allGoldenCasesMatchTheReferenceExactly() {
    GoldenTensors g = GoldenTensors.read("entropy/pmf_to_quantized_cdf.safetensors");
    int cases = Integer.parseInt(g.metadata.get("num_cases"));
    assertEquals(20, cases);
    assertEquals("16", g.metadata.get("precision"));
    for (int c = 0; c < cases; c++) {
      String name = String.format("case%02d", c);
      float[] pmf = g.get(name + ".pmf").floats();
      int[] expected = g.get(name + ".cdf").ints();
      int[] actual = QuantizedCdf.fromPmf(pmf, 16);
      assertArrayEquals(expected, actual, name);
      QuantizedCdf.validate(actual);
    }
  }

  @Test
  void zeroFrequencySymbolsStealFromTheSmallestFrequencyAboveOne() {
    // Independent hand computation: counts round to [0, 65535, 1] (sum 65536, no rescale change), cdf
    // [0, 0, 65535, 65536]; symbol 0 has frequency 0 and steals from symbol 1 (65535 > 1; symbol 2 has only 1),
    // which lies after it, so cdf[1] += 1.
    float[] pmf = {0f, 65535f / 65536f, 1f / 65536f};
    assertArrayEquals(new int[] {0, 1, 65535, 65536}, QuantizedCdf.fromPmf(pmf, 16));
  }

  @Test
  void roundsHalfAwayFromZeroInFloat32() {
    // 0.5/65536 scales to exactly 0.5 -> 1 (half away from zero; half-even would give 0). Counts [1, 65535, 1],
    // total 65537; rescale floor(65536 * c / 65537) = [0, 65534, 0]; prefix sums with the last entry forced:
    // [0, 0, 65534, 65536]; symbol 0 (frequency 0) steals from the smallest frequency > 1, symbol 2 (frequency 2),
    // which lies after it: cdf[1..2] += 1.
    float[] pmf = {0.5f / 65536f, 65535f / 65536f, 1f / 65536f};
    int[] cdf = QuantizedCdf.fromPmf(pmf, 16);
    assertArrayEquals(new int[] {0, 1, 65535, 65536}, cdf);
  }

  @Test
  void invalidPmfsAreRejectedWithAMessage() {
    assertTrue(assertThrows(EntropyCodingException.class, () -> QuantizedCdf.fromPmf(new float[] {0.5f, -0.1f}, 16))
        .getMessage().contains("negative"));
    assertThrows(EntropyCodingException.class, () -> QuantizedCdf.fromPmf(new float[] {Float.NaN, 1f}, 16));
    assertThrows(EntropyCodingException.class, () -> QuantizedCdf.fromPmf(new float[] {Float.POSITIVE_INFINITY}, 16));
    assertTrue(assertThrows(EntropyCodingException.class, () -> QuantizedCdf.fromPmf(new float[] {0f, 0f}, 16))
        .getMessage().contains("non-zero"));
    assertThrows(EntropyCodingException.class, () -> QuantizedCdf.fromPmf(new float[0], 16));
    assertThrows(EntropyCodingException.class, () -> QuantizedCdf.fromPmf(new float[] {1e30f}, 16));
    assertThrows(EntropyCodingException.class, () -> QuantizedCdf.fromPmf(new float[] {1f}, 0));
    assertThrows(EntropyCodingException.class, () -> QuantizedCdf.fromPmf(new float[5], 2)); // 5 symbols > 2^2
  }

  @Test
  void validateNamesTheProblem() {
    assertTrue(assertThrows(EntropyCodingException.class, () -> QuantizedCdf.validate(new int[] {0}))
        .getMessage().contains("length"));
    assertTrue(assertThrows(EntropyCodingException.class, () -> QuantizedCdf.validate(new int[] {1, 65536}))
        .getMessage().contains("first"));
    assertTrue(assertThrows(EntropyCodingException.class, () -> QuantizedCdf.validate(new int[] {0, 65535}))
        .getMessage().contains("last"));
    assertTrue(assertThrows(EntropyCodingException.class, () -> QuantizedCdf.validate(new int[] {0, 7, 7, 65536}))
        .getMessage().contains("increasing"));
    QuantizedCdf.validate(new int[] {0, 65536});
  }
}
