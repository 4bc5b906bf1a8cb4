package ai.taco.eval;

import ai.taco.eval.codec.CodecSpec;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.bitstream.ScaleTable;
import ai.taco.core.Tiling;
import ai.taco.eval.bench.BenchmarkException;
import ai.taco.eval.bench.EvalRunner;
import ai.taco.eval.options.EvalOptions;
import ai.taco.metrics.Lpips;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** The plan both applications build from the same options, and how it travels (Java serialization, JSON). */
class EvalPlanTest {

  @Command(name = "eval")
  static final class Holder {
    @Mixin EvalOptions options;
  }

  static EvalPlan parse(String... args) {
    Holder h = new Holder();
    new CommandLine(h).parseArgs(args);
    return h.options.plan();
  }

  @Test
  void optionsBecomeThePlan() {
    EvalPlan p = parse("--weights", "a.safetensors", "b.pth.tar", "--preset", "small", "--scale-table", "torch2",
        "--dataset", "kodak", "--captions", "caps.json", "--out", "res", "--jpeg-quality", "10,50",
        "--metrics-on", "png8", "--lpips-input", "standard", "--tile", "256", "--sub-tile", "128");
    assertEquals(2, p.points().taco().size());
    CodecSpec b = p.points().taco().get(1);
    assertEquals("b.pth.tar", b.weights());
    assertEquals("small", b.preset());
    assertEquals(ScaleTable.fromId("torch2"), b.table());
    assertEquals(new Tiling(256, 128), b.tiling());
    assertEquals(CodecSpec.FP32, b.precision());
    assertEquals(List.of(10, 50), p.points().jpegQualities());
    assertEquals(EvalRunner.MetricsOn.PNG8, p.metricsOn());
    assertEquals(Lpips.InputConvention.STANDARD, p.lpipsConvention());
    assertEquals(ai.taco.metrics.CmmdEmbedder.Recipe.CMMD_PYTORCH, p.cmmdRecipe(), "the default CMMD recipe");
    assertEquals(EvalRunner.CaptionMode.DATASET, p.captionMode());
    assertEquals("res", p.outputs().out());
    assertTrue(p.outputs().builtinReferences());
    assertNull(p.text().clip());
  }

  @Test
  void noJpegLeavesNoQualities() {
    EvalPlan p = parse("--dataset", "d", "--out", "o", "--no-jpeg");
    assertEquals(List.of(), p.points().jpegQualities());
    assertEquals(List.of(), p.points().taco());
  }

  @Test
  void javaSerializationKeepsEveryField() throws Exception {
    EvalPlan p = parse("--weights", "w.safetensors", "--dataset", "d", "--out", "o", "--lpips-weights", "x.pth",
        "y.pth", "--external", "cp@1,2:cp {in} {out};cp {in} {recon}", "--caption-mode", "empty");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(p);
    }
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      assertEquals(p, in.readObject());
    }
  }

  @Test
  void jsonRoundTrip() throws Exception {
    EvalPlan p = parse("--weights", "w.safetensors", "--dataset", "d", "--out", "o", "--coco-list", "l.json",
        "--captions", "c.json", "--coco-preprocess", "resize-crop", "--limit", "7", "--inception", "i.pth");
    ObjectMapper om = new ObjectMapper();
    String json = om.writeValueAsString(p);
    assertEquals(p, om.readValue(json, EvalPlan.class));
    assertTrue(json.contains("\"cocoPreprocess\":\"resize-crop\""), json);
  }

  @Test
  void badChoicesFailWithTheOptionsName() {
    BenchmarkException e = assertThrows(BenchmarkException.class,
        () -> parse("--dataset", "d", "--out", "o", "--metrics-on", "png16"));
    assertTrue(e.getMessage().contains("--metrics-on must be float or png8"), e.getMessage());
    e = assertThrows(BenchmarkException.class, () -> parse("--dataset", "d", "--out", "o", "--force", "--resume"));
    assertTrue(e.getMessage().contains("give one of them"), e.getMessage());
    e = assertThrows(BenchmarkException.class, () -> parse("--dataset", "d", "--out", "o", "--coco-list", "l.json"));
    assertTrue(e.getMessage().contains("--coco-list needs --captions"), e.getMessage());
  }

  @Test
  void codecSpecRefusesWhatItCannotBuild() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new CodecSpec("w", null, null, null, 1024, 512, "fp8"));
    assertTrue(e.getMessage().contains("fp8") && e.getMessage().contains("bf16"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new CodecSpec("w", null, null, null, 0, 0, null, -1));
    e = assertThrows(IllegalArgumentException.class, () -> new CodecSpec("w", null, "torch3", null, 1024, 512, null));
    assertTrue(e.getMessage().contains("torch3"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new CodecSpec("w", null, null, null, 1000, 512, null));
    assertTrue(e.getMessage().contains("multiples of 16"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new CodecSpec(null, null, null, null, 0, 0, null));
    assertEquals(Tiling.NONE, new CodecSpec("w", null, null, null, 0, 0, null).tiling());
    // A sub-tile larger than the tile is clamped to it, as the command line always did.
    assertEquals(new Tiling(256, 256), new CodecSpec("w", null, null, null, 256, 512, null).tiling());
    // gS's tile follows --tile up to the default's, never above (its tiles hold more per pixel).
    assertEquals(new Tiling(2048, 512, 1024), new CodecSpec("w", null, null, null, 2048, 512, null).tiling());
  }

  @Test
  void commandLineDefaultsAreTheLibrarysTiling() {
    CodecSpec spec = parse("--weights", "a.safetensors", "--dataset", "kodak", "--out", "res").points().taco().get(0);
    assertEquals(Tiling.DEFAULT, spec.tiling());
    assertEquals(Tiling.DEFAULT, CodecSpec.of(java.nio.file.Path.of("a.safetensors")).tiling());
  }

  @Test
  void missingWeightsFileIsNamed() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> CodecSpec.of(java.nio.file.Path.of("target", "no-such-weights.safetensors")).build());
    assertTrue(e.getMessage().contains("no-such-weights.safetensors"), e.getMessage());
  }
}
