package ai.taco.entropy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The byte layout, derived by hand from the reference algorithm (ryg_rans rans64.h as used by CompressAI), independent
 * of the golden files: initial state 2^31, steps coded last to first, state flushed as two little-endian 32-bit words
 * (low, then high).
 */
class RansLayoutTest {
  private static final CdfTables HALVES = CdfTables.of(new int[][] {{0, 32768, 65536}}, new int[] {0});

  @Test
  void oneInRangeSymbol() {
    // Symbol 0: start 0, freq 32768. x = 2^31 < 2^47 * 32768: no word out; x = (2^31 / 32768) << 16 = 2^32.
    // Flush: low word 0, high word 1.
    byte[] expected = {0, 0, 0, 0, 1, 0, 0, 0};
    assertArrayEquals(expected, RansEncoder.encode(new int[] {0}, new int[] {0}, HALVES));
    assertArrayEquals(new int[] {0}, RansDecoder.decode(expected, new int[] {0}, HALVES));
  }

  @Test
  void oneBypassSymbol() {
    // Symbol 3 >= escape slot 1: raw = 2 * (3 - 1) = 4, one nibble. Steps in order: escape (start 32768, freq 32768),
    // nibble count 1, nibble 4. Coded last to first from x = 2^31:
    //   nibble 4: x = 2^31 << 4 | 4 = 2^35 + 4;  count 1: x = (2^35 + 4) << 4 | 1 = 2^39 + 65;
    //   escape: q = (2^39 + 65) / 32768 = 2^24, r = 65: x = 2^24 << 16 + 65 + 32768 = 2^40 + 32833 (0x8041).
    byte[] expected = {0x41, (byte) 0x80, 0, 0, 0, 1, 0, 0};
    assertArrayEquals(expected, RansEncoder.encode(new int[] {3}, new int[] {0}, HALVES));
    RansDecoder d = new RansDecoder(expected);
    assertArrayEquals(new int[] {3}, d.decodeStream(new int[] {0}, HALVES));
    assertTrue(d.isComplete());
  }

  @Test
  void negativeBypassUsesOddRawValues() {
    // Symbol -1: raw = -2 * (-1) - 1 = 1 (odd = negative), decoded as -(1 >> 1) - 1 = -1.
    // Steps: escape, count 1, nibble 1. x: 2^35 + 1, then 2^39 + 16 + 1 = 2^39 + 17; escape: q = 2^24, r = 17,
    // x = 2^40 + 17 + 32768 = 2^40 + 0x8011.
    byte[] expected = {0x11, (byte) 0x80, 0, 0, 0, 1, 0, 0};
    assertArrayEquals(expected, RansEncoder.encode(new int[] {-1}, new int[] {0}, HALVES));
    assertArrayEquals(new int[] {-1}, RansDecoder.decode(expected, new int[] {0}, HALVES));
  }
}
