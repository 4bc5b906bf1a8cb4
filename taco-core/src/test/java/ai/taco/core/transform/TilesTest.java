package ai.taco.core.transform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.transform.Tiles.Span;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Tile splitting: the fewest pieces of at most the tile size, covering the span exactly, sizes within one. */
class TilesTest {
  @Test
  void splitsIntoTheFewestNearlyEqualPieces() {
    for (int lo : new int[] {0, 5}) {
      for (int length = 1; length <= 300; length++) {
        for (int size : new int[] {1, 7, 16, 64, 128}) {
          List<Span> pieces = Tiles.split(new Span(lo, lo + length), size);
          assertEquals((length + size - 1) / size, pieces.size(), length + " by " + size);
          int at = lo;
          int min = Integer.MAX_VALUE;
          int max = 0;
          for (Span p : pieces) {
            assertEquals(at, p.lo(), "contiguous");
            assertTrue(p.size() >= 1 && p.size() <= size, p + " within " + size);
            min = Math.min(min, p.size());
            max = Math.max(max, p.size());
            at = p.hi();
          }
          assertEquals(lo + length, at, "covers the span");
          assertTrue(max - min <= 1, "sizes " + min + ".." + max);
        }
      }
    }
  }

  @Test
  void aSideOfTwoTilesAndASliverBecomesThreeEqualTiles() {
    // 2176 rows at 1/8 are 272 positions; 1024-pixel tiles are 128 positions: 91 + 91 + 90, not 128 + 128 + 16.
    assertEquals(List.of(new Span(0, 91), new Span(91, 182), new Span(182, 272)), Tiles.split(new Span(0, 272), 128));
  }
}
