package ai.taco.core.latent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import ai.taco.core.bitstream.ScaleTable;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import java.util.Map;

/**
 * The shipped format-constant tables ({@link GaussianConditional} of each {@link ScaleTable} variant) equal the
 * reference's (CompressAI 1.2.6 under PyTorch 1.13 and 2.13).
 */
class ScaleTableTest {

  @Test
  void torch1EqualsReferenceGaussianConditionalState() {
    Map<String, HostTensor> g = Golden.tensors("entropy/gaussian_conditional.safetensors");
    GaussianConditional t1 = new GaussianConditional(ScaleTable.TORCH1.id());
    assertTable(t1, g, "state.");
    // The same table is what TACO's update() produced for the small model.
    Map<String, HostTensor> u = Golden.tensors("taco-small/updated_buffers.safetensors");
    assertArrayEquals(u.get("gaussian_conditional.scale_table").toFloatArray(), t1.scales());
    assertArrayEquals(u.get("gaussian_conditional._offset").toIntArray(), t1.offsets());
    assertArrayEquals(u.get("gaussian_conditional._cdf_length").toIntArray(), t1.cdfLengths());
    assertEquals(u.get("gaussian_conditional.scale_bound").toFloatArray()[0], GaussianConditional.SCALE_BOUND);
    assertEquals(g.get("state.lower_bound_scale.bound").toFloatArray()[0], GaussianConditional.SCALE_BOUND);
  }

  @Test
  void torch2EqualsReferenceAndDiffersOnlyInRows46And57() {
    Map<String, HostTensor> g = Golden.tensors("entropy/gaussian_conditional_torch2.safetensors");
    GaussianConditional t1 = new GaussianConditional(ScaleTable.TORCH1.id());
    GaussianConditional t2 = new GaussianConditional(ScaleTable.TORCH2.id());
    assertTable(t2, g, "");
    List<Integer> differing = new ArrayList<>();
    for (int i = 0; i < GaussianConditional.LEVELS; i++) {
      if (!Arrays.equals(t1.cdfTables().cdf(i), t2.cdfTables().cdf(i))) {
        differing.add(i);
      }
    }
    assertEquals(List.of(46, 57), differing);
    assertNotEquals(Arrays.toString(t1.scales()), Arrays.toString(t2.scales()));
  }

  /** The documented generator, run on the golden files, reproduces the shipped resources. */
  @Test
  void generatorReproducesShippedResources(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
    ScaleTableResourceGenerator.main(new String[] {Golden.golden("entropy").toString(), tmp.toString()});
    for (ScaleTable t : ScaleTable.values()) {
      String name = "scale_table_" + t.id() + ".bin.gz";
      try (var shipped = GaussianConditional.class.getResourceAsStream(name);
          var fresh = java.nio.file.Files.newInputStream(tmp.resolve(name))) {
        byte[] a = new java.util.zip.GZIPInputStream(shipped).readAllBytes();
        byte[] b = new java.util.zip.GZIPInputStream(fresh).readAllBytes();
        assertArrayEquals(b, a, name);
      }
    }
  }

  private static void assertTable(GaussianConditional t, Map<String, HostTensor> g, String p) {
    float[] scales = g.get(p + "scale_table").toFloatArray();
    assertEquals(GaussianConditional.LEVELS, scales.length);
    for (int i = 0; i < scales.length; i++) {
      assertEquals(Float.floatToRawIntBits(scales[i]), Float.floatToRawIntBits(t.scales()[i]), "scale " + i);
    }
    assertArrayEquals(g.get(p + "_offset").toIntArray(), t.offsets());
    assertArrayEquals(g.get(p + "_cdf_length").toIntArray(), t.cdfLengths());
    int[] cdf = g.get(p + "_quantized_cdf").toIntArray();
    int width = (int) g.get(p + "_quantized_cdf").shape()[1];
    int[] lengths = t.cdfLengths();
    for (int i = 0; i < GaussianConditional.LEVELS; i++) {
      int[] row = t.cdfTables().cdf(i);
      assertArrayEquals(Arrays.copyOfRange(cdf, i * width, i * width + lengths[i]), row, "cdf row " + i);
      assertEquals(0, Arrays.stream(cdf, i * width + lengths[i], (i + 1) * width).map(Math::abs).sum(), "padding " + i);
      assertEquals(0, row[0]);
      assertEquals(1 << 16, row[row.length - 1]);
    }
  }
}
