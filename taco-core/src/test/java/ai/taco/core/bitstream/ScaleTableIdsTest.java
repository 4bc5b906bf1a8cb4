package ai.taco.core.bitstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The scale-table variants' names and container codes (the tables themselves: latent.ScaleTableTest). */
class ScaleTableIdsTest {
  @Test
  void idsAndCodes() {
    assertEquals(ScaleTable.TORCH1, ScaleTable.defaultTable());
    assertEquals(ScaleTable.TORCH2, ScaleTable.fromId("Torch2"));
    assertEquals(ScaleTable.TORCH1, ScaleTable.fromCode(1));
    assertEquals(null, ScaleTable.fromCode(9));
    assertThrows(IllegalArgumentException.class, () -> ScaleTable.fromId("torch3"));
  }
}
