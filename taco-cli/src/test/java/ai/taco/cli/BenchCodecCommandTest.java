package ai.taco.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.testing.Golden;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code taco bench --layers} reports every gA and gS step, in order, and the steps partition their stage, tiled or
 * not, with MACs that add up to the transform's; {@code --sizes} codes images of the sizes asked for (no timing is
 * asserted: benchmarks are commands, this only checks what they report).
 */
class BenchCodecCommandTest {
  @Test
  void layersPartitionTheirStage() throws Exception {
    for (String tile : new String[] {"0", "32"}) { // 32: every stage of gA and gS runs in several tiles
      String[] r = CliTesting.taco("bench", "--preset", "tiny", "--image",
          Golden.golden("taco-small/img0_64x64.png").toString(), "--runs", "1", "--warmup", "0", "--layers",
          "--tile", tile).asArray();
      assertEquals("0", r[0], r[2]);
      JsonNode j = new ObjectMapper().readTree(r[1]);
      check(j.get("encode_layers"), "gA", 18, j.get("encode_median_seconds").get("gA").asDouble(),
          j.get("gA_gmac").asDouble());
      check(j.get("decode_layers"), "gS", 15, j.get("decode_median_seconds").get("gS").asDouble(),
          j.get("gS_gmac").asDouble());
      assertTrue(j.get("matmul_peak_gflops").asDouble() > 0);
      assertEquals("host-bands", j.get("decode_output").asText(), "decoded as taco decompress decodes");
    }
  }

  @Test
  void sizesCodeImagesOfThoseSizes() throws Exception {
    String[] r = CliTesting.taco("bench", "--preset", "tiny", "--image",
        Golden.golden("taco-small/img0_64x64.png").toString(), "--runs", "1", "--warmup", "0", "--sizes",
        "80x48,64x130").asArray();
    assertEquals("0", r[0], r[2]);
    JsonNode sizes = new ObjectMapper().readTree(r[1]).get("sizes");
    assertEquals(2, sizes.size());
    assertEquals(80, sizes.get(0).get("width").asInt());
    assertEquals(48, sizes.get(0).get("height").asInt());
    assertEquals(130, sizes.get(1).get("height").asInt());
    assertEquals(64 * 130 / 1e6, sizes.get(1).get("megapixels").asDouble(), 1e-12);
  }

  private static void check(JsonNode layers, String transform, int steps, double stageSeconds, double gmac) {
    List<String> names = new ArrayList<>();
    layers.fieldNames().forEachRemaining(names::add);
    assertEquals(steps, names.size(), names.toString());
    double sum = 0;
    double macs = 0;
    for (int i = 0; i < steps; i++) {
      assertTrue(names.get(i).startsWith(transform + "." + i + " "), names.get(i));
      double s = layers.get(names.get(i)).get("seconds").asDouble();
      assertTrue(s >= 0, names.get(i) + " " + s);
      sum += s;
      macs += layers.get(names.get(i)).get("gmac").asDouble();
    }
    assertEquals(gmac, macs, 1e-9 * gmac, transform + ": step MACs add up to the transform's");
    // One run: the steps are consecutive intervals inside the stage's interval.
    assertTrue(sum <= stageSeconds + 1e-9, transform + ": steps " + sum + " s > stage " + stageSeconds + " s");
  }
}
