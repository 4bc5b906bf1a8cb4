package ai.taco.core.entropy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The shipped format-constant tables equal the reference's (CompressAI 1.2.6 under PyTorch 1.13 and 2.13). */
class ScaleTableTest {

  @Test
  void torch1EqualsReferenceGaussianConditionalState() {
    TestTensors g = TestTensors.open("entropy/gaussian_conditional.safetensors");
    assertTable(ScaleTable.TORCH1, g, "state.");
    // The same table is what TACO's update() produced for the small model.
    TestTensors u = TestTensors.open("taco-small/updated_buffers.safetensors");
    assertArrayEquals(u.floats("gaussian_conditional.scale_table"), ScaleTable.TORCH1.scales());
    assertArrayEquals(u.ints("gaussian_conditional._offset"), ScaleTable.TORCH1.offsets());
    assertArrayEquals(u.ints("gaussian_conditional._cdf_length"), ScaleTable.TORCH1.cdfLengths());
    assertEquals(u.floats("gaussian_conditional.scale_bound")[0], ScaleTable.SCALE_BOUND);
    assertEquals(g.floats("state.lower_bound_scale.bound")[0], ScaleTable.SCALE_BOUND);
  }

  @Test
  void torch2EqualsReferenceAndDiffersOnlyInRows46And57() {
    TestTensors g = TestTensors.open("entropy/gaussian_conditional_torch2.safetensors");
    assertTable(ScaleTable.TORCH2, g, "");
    List<Integer> differing = new ArrayList<>();
    for (int i = 0; i < ScaleTable.LEVELS; i++) {
      if (!Arrays.equals(ScaleTable.TORCH1.cdf(i), ScaleTable.TORCH2.cdf(i))) {
        differing.add(i);
      }
    }
    assertEquals(List.of(46, 57), differing);
    assertNotEquals(Arrays.toString(ScaleTable.TORCH1.scales()), Arrays.toString(ScaleTable.TORCH2.scales()));
  }

  @Test
  void idsAndCodes() {
    assertEquals(ScaleTable.TORCH1, ScaleTable.defaultTable());
    assertEquals(ScaleTable.TORCH2, ScaleTable.fromId("Torch2"));
    assertEquals(ScaleTable.TORCH1, ScaleTable.fromCode(1));
    assertEquals(null, ScaleTable.fromCode(9));
    assertThrows(IllegalArgumentException.class, () -> ScaleTable.fromId("torch3"));
  }

  private static void assertTable(ScaleTable t, TestTensors g, String p) {
    float[] scales = g.floats(p + "scale_table");
    assertEquals(ScaleTable.LEVELS, scales.length);
    for (int i = 0; i < scales.length; i++) {
      assertEquals(Float.floatToRawIntBits(scales[i]), Float.floatToRawIntBits(t.scales()[i]), "scale " + i);
    }
    assertArrayEquals(g.ints(p + "_offset"), t.offsets());
    assertArrayEquals(g.ints(p + "_cdf_length"), t.cdfLengths());
    int[] cdf = g.ints(p + "_quantized_cdf");
    int width = (int) g.shape(p + "_quantized_cdf")[1];
    int[][] padded = t.paddedCdfs();
    assertEquals(width, padded[0].length);
    for (int i = 0; i < ScaleTable.LEVELS; i++) {
      assertArrayEquals(Arrays.copyOfRange(cdf, i * width, (i + 1) * width), padded[i], "cdf row " + i);
      int[] row = t.cdf(i);
      assertEquals(0, row[0]);
      assertEquals(1 << 16, row[row.length - 1]);
    }
  }
}
