package ai.taco.eval.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.testing.Golden;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code taco bench --layers} reports every gA and gS step, in order, and the steps partition their stage (no timing
 * is asserted: benchmarks are commands, this only checks what they report).
 */
class BenchCodecCommandTest {
  @Test
  void layersPartitionTheirStage() throws Exception {
    String[] r = CliTesting.taco("bench", "--preset", "tiny", "--image", Golden.golden("taco-small/img0_64x64.png").toString(),
        "--runs", "1", "--warmup", "0", "--layers").asArray();
    assertEquals("0", r[0], r[2]);
    JsonNode j = new ObjectMapper().readTree(r[1]);
    check(j.get("encode_layer_median_seconds"), "gA", 18, j.get("encode_median_seconds").get("gA").asDouble());
    check(j.get("decode_layer_median_seconds"), "gS", 15, j.get("decode_median_seconds").get("gS").asDouble());
  }

  private static void check(JsonNode layers, String transform, int steps, double stageSeconds) {
    List<String> names = new ArrayList<>();
    layers.fieldNames().forEachRemaining(names::add);
    assertEquals(steps, names.size(), names.toString());
    double sum = 0;
    for (int i = 0; i < steps; i++) {
      assertTrue(names.get(i).startsWith(transform + "." + i + " "), names.get(i));
      double s = layers.get(names.get(i)).asDouble();
      assertTrue(s >= 0, names.get(i) + " " + s);
      sum += s;
    }
    // One run: the steps are consecutive intervals inside the stage's interval.
    assertTrue(sum <= stageSeconds + 1e-9, transform + ": steps " + sum + " s > stage " + stageSeconds + " s");
  }
}
