package ai.taco.core.latent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The shipped format-constant tables equal the reference's (CompressAI 1.2.6 under PyTorch 1.13 and 2.13). */
class ScaleTableTest {

  @Test
  void torch1EqualsReferenceGaussianConditionalState() {
    Map<String, HostTensor> g = Golden.tensors("entropy/gaussian_conditional.safetensors");
    assertTable(ScaleTable.TORCH1, g, "state.");
    // The same table is what TACO's update() produced for the small model.
    Map<String, HostTensor> u = Golden.tensors("taco-small/updated_buffers.safetensors");
    assertArrayEquals(u.get("gaussian_conditional.scale_table").toFloatArray(), ScaleTable.TORCH1.scales());
    assertArrayEquals(u.get("gaussian_conditional._offset").toIntArray(), ScaleTable.TORCH1.offsets());
    assertArrayEquals(u.get("gaussian_conditional._cdf_length").toIntArray(), ScaleTable.TORCH1.cdfLengths());
    assertEquals(u.get("gaussian_conditional.scale_bound").toFloatArray()[0], ScaleTable.SCALE_BOUND);
    assertEquals(g.get("state.lower_bound_scale.bound").toFloatArray()[0], ScaleTable.SCALE_BOUND);
  }

  @Test
  void torch2EqualsReferenceAndDiffersOnlyInRows46And57() {
    Map<String, HostTensor> g = Golden.tensors("entropy/gaussian_conditional_torch2.safetensors");
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

  /** The documented generator, run on the golden files, reproduces the shipped resources. */
  @Test
  void generatorReproducesShippedResources(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
    ScaleTableResourceGenerator.main(new String[] {Golden.golden("entropy").toString(), tmp.toString()});
    for (ScaleTable t : ScaleTable.values()) {
      String name = "scale_table_" + t.id() + ".bin.gz";
      try (var shipped = ScaleTable.class.getResourceAsStream(name);
          var fresh = java.nio.file.Files.newInputStream(tmp.resolve(name))) {
        byte[] a = new java.util.zip.GZIPInputStream(shipped).readAllBytes();
        byte[] b = new java.util.zip.GZIPInputStream(fresh).readAllBytes();
        assertArrayEquals(b, a, name);
      }
    }
  }

  @Test
  void idsAndCodes() {
    assertEquals(ScaleTable.TORCH1, ScaleTable.defaultTable());
    assertEquals(ScaleTable.TORCH2, ScaleTable.fromId("Torch2"));
    assertEquals(ScaleTable.TORCH1, ScaleTable.fromCode(1));
    assertEquals(null, ScaleTable.fromCode(9));
    assertThrows(IllegalArgumentException.class, () -> ScaleTable.fromId("torch3"));
  }

  private static void assertTable(ScaleTable t, Map<String, HostTensor> g, String p) {
    float[] scales = g.get(p + "scale_table").toFloatArray();
    assertEquals(ScaleTable.LEVELS, scales.length);
    for (int i = 0; i < scales.length; i++) {
      assertEquals(Float.floatToRawIntBits(scales[i]), Float.floatToRawIntBits(t.scales()[i]), "scale " + i);
    }
    assertArrayEquals(g.get(p + "_offset").toIntArray(), t.offsets());
    assertArrayEquals(g.get(p + "_cdf_length").toIntArray(), t.cdfLengths());
    int[] cdf = g.get(p + "_quantized_cdf").toIntArray();
    int width = (int) g.get(p + "_quantized_cdf").shape()[1];
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
