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

  @Test
  void gridTilesStayWithinTheSquareTilesAreaAndCostTheLeastHaloWork() {
    int[][] cases = {{1, 1, 8, 2}, {17, 5, 8, 2}, {64, 96, 128, 8}, {272, 480, 128, 8}, {544, 960, 256, 35},
        {300, 7, 16, 3}, {1024, 1536, 128, 8}, {91, 120, 64, 4}, {33, 200, 10, 0}};
    for (int[] c : cases) {
      Span rows = new Span(3, 3 + c[0]);
      Span cols = new Span(0, c[1]);
      int size = c[2];
      int halo = c[3];
      Tiles.Grid g = Tiles.grid(rows, cols, size, halo);
      long budget = (long) (size + 2 * halo) * (size + 2 * halo);
      assertCovers(rows, g.rows());
      assertCovers(cols, g.cols());
      for (Span r : g.rows()) {
        for (Span col : g.cols()) {
          assertTrue((long) (r.size() + 2 * halo) * (col.size() + 2 * halo) <= budget, r + " x " + col + " in " + budget);
          assertTrue(r.size() <= 2 * size && col.size() <= 2 * size, "no strips");
        }
      }
      // Brute force over every grid of equal pieces that respects the same bounds.
      long best = Long.MAX_VALUE;
      for (int nr = 1; nr <= rows.size(); nr++) {
        for (int nc = 1; nc <= cols.size(); nc++) {
          int pr = -Math.floorDiv(-rows.size(), nr);
          int pc = -Math.floorDiv(-cols.size(), nc);
          if (pr <= 2 * size && pc <= 2 * size && (long) (pr + 2 * halo) * (pc + 2 * halo) <= budget) {
            best = Math.min(best, (rows.size() + 2L * halo * nr) * (cols.size() + 2L * halo * nc));
          }
        }
      }
      long cost = (rows.size() + 2L * halo * g.rows().size()) * (cols.size() + 2L * halo * g.cols().size());
      assertEquals(best, cost, java.util.Arrays.toString(c));
    }
  }

  @Test
  void a4KImageIsTwoByFourTilesOfGaBody() {
    // 3840×2160 padded to 3840×2176 is 272×480 positions at 1/8; 1024-pixel tiles are 128 with a halo of 8.
    Tiles.Grid g = Tiles.grid(new Span(0, 272), new Span(0, 480), 128, 8);
    assertEquals(List.of(new Span(0, 136), new Span(136, 272)), g.rows());
    assertEquals(4, g.cols().size());
  }

  private static void assertCovers(Span whole, List<Span> pieces) {
    int at = whole.lo();
    for (Span p : pieces) {
      assertEquals(at, p.lo());
      assertTrue(p.size() >= 1);
      at = p.hi();
    }
    assertEquals(whole.hi(), at);
  }
}
