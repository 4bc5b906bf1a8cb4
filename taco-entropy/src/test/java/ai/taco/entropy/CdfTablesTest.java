package ai.taco.entropy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CdfTablesTest {

  @Test
  void paddedLayoutKeepsOnlyTheCdfLengthEntries() {
    int[] flat = {0, 5, 65536, 77, 77, 0, 1, 2, 3, 65536};
    CdfTables t = CdfTables.fromPadded(flat, 5, new int[] {3, 5}, new int[] {-1, -2});
    assertEquals(2, t.size());
    assertArrayEquals(new int[] {0, 5, 65536}, t.cdf(0));
    assertArrayEquals(new int[] {0, 1, 2, 3, 65536}, t.cdf(1));
    assertEquals(3, t.cdfLength(0));
    assertEquals(-2, t.offset(1));
  }

  @Test
  void invalidTablesAreTypedErrorsNamingTheTable() {
    assertMessage("length 1", () -> CdfTables.of(new int[][] {{0, 65536}, {0}}, new int[2]));
    assertMessage("CDF 1: first", () -> CdfTables.of(new int[][] {{0, 65536}, {1, 65536}}, new int[2]));
    assertMessage("last", () -> CdfTables.of(new int[][] {{0, 65535}}, new int[1]));
    assertMessage("increasing", () -> CdfTables.of(new int[][] {{0, 9, 9, 65536}}, new int[1]));
    assertMessage("increasing", () -> CdfTables.of(new int[][] {{0, 70000, 65536}}, new int[1]));
    assertMessage("offsets", () -> CdfTables.of(new int[][] {{0, 65536}}, new int[2]));
    assertMessage("exceeds its row",
        () -> CdfTables.fromPadded(new int[][] {{0, 65536}}, new int[] {3}, new int[1]));
    assertMessage("rows", () -> CdfTables.fromPadded(new int[7], 3, new int[] {2, 2}, new int[2]));
    assertMessage("offset", () -> CdfTables.of(new int[][] {{0, 1, 2, 65536}}, new int[] {Integer.MAX_VALUE - 1}));
  }

  @Test
  void lookupTablesPointAtTheSymbolOfEachBucketStart() {
    // The decoder's search starts at lut[bucket] and walks forward: lut[b] must be the symbol whose interval holds
    // the bucket's first cumulative frequency (checked against a plain linear search).
    SplittableRandom rnd = new SplittableRandom(3);
    CdfTables t = RandomTables.tables(rnd, 40, 700);
    for (int k = 0; k < t.size(); k++) {
      int[] cdf = t.cdf(k);
      int m = k * CdfTables.META_STRIDE;
      int shift = t.meta[m + CdfTables.M_LUT_SHIFT];
      int lutBase = t.meta[m + CdfTables.M_LUT_BASE];
      for (int b = 0; b < (1 << (16 - shift)); b++) {
        int cum = b << shift;
        int s = 0;
        while (cdf[s + 1] <= cum) {
          s++;
        }
        assertEquals(s, t.lut[lutBase + b], "table " + k + " bucket " + b);
      }
    }
  }

  private static void assertMessage(String part, org.junit.jupiter.api.function.Executable call) {
    EntropyCodingException e = assertThrows(EntropyCodingException.class, call);
    assertTrue(e.getMessage().contains(part), "message '" + e.getMessage() + "' should mention '" + part + "'");
  }
}
