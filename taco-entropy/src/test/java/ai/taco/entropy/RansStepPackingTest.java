package ai.taco.entropy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The encoder buffers each coding step in 4 bytes and grows its output buffer during {@link RansEncoder#flush}: the
 * edge steps of that packing (the last CDF slot starting at 65535 with frequency 1, followed by bypass nibbles of every
 * value; a frequency of 65536) and a stream of more words than the first output buffer holds decode to their symbols.
 */
class RansStepPackingTest {
  @Test
  void slotStartingAt65535AndBypassNibblesRoundTrip() {
    // CDF [0, 65535, 65536]: value 0 has frequency 65535; every other value is the escape slot (start 65535, frequency
    // 1) followed by bypass nibbles, whose values 0..15 all occur below.
    CdfTables t = CdfTables.of(new int[][] {{0, 65535, 65536}, {0, 65536}}, new int[] {0, 0});
    int n = 4000;
    int[] symbols = new int[n];
    int[] indexes = new int[n];
    SplittableRandom rnd = new SplittableRandom(3);
    for (int i = 0; i < n; i++) {
      indexes[i] = rnd.nextInt(8) == 0 ? 1 : 0;
      symbols[i] = rnd.nextInt(4) == 0 ? 0 : rnd.nextInt(-(1 << 20), 1 << 20);
    }
    byte[] bytes = RansEncoder.encode(symbols, indexes, t);
    RansDecoder d = new RansDecoder(bytes);
    assertArrayEquals(symbols, d.decodeStream(indexes, t));
    assertTrue(d.isComplete());
  }

  @Test
  void streamsLongerThanTheFirstOutputBufferRoundTrip() {
    // 64 slots of frequency 1024 (the last 1023, then an escape slot of 1): 6 bits a symbol, so 400,000 symbols take 75,000 words, more than the 65,536 the
    // output buffer starts with.
    int[] cdf = new int[66];
    for (int i = 0; i <= 64; i++) {
      cdf[i] = i * 1024;
    }
    cdf[65] = 65536;
    cdf[64] = 65535;
    CdfTables t = CdfTables.of(new int[][] {cdf}, new int[] {0});
    int n = 400_000;
    int[] symbols = new int[n];
    int[] indexes = new int[n];
    SplittableRandom rnd = new SplittableRandom(9);
    for (int i = 0; i < n; i++) {
      symbols[i] = rnd.nextInt(64);
    }
    RansEncoder e = new RansEncoder();
    e.encodeWithIndexes(symbols, 0, indexes, 0, n / 2, t);
    e.encodeWithIndexes(symbols, n / 2, indexes, n / 2, n - n / 2, t);
    byte[] bytes = e.flush();
    assertTrue(bytes.length / 4 > 1 << 16, bytes.length / 4 + " words");
    assertArrayEquals(RansEncoder.encode(symbols, indexes, t), bytes);
    RansDecoder d = new RansDecoder(bytes);
    assertArrayEquals(symbols, d.decodeStream(indexes, t));
    assertTrue(d.isComplete());
    assertEquals(0, e.bufferedSteps());
  }
}
