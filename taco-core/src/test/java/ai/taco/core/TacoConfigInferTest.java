package ai.taco.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import ai.taco.core.error.WeightsException;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.core.weights.StateDict;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link TacoConfig#infer}: the architecture read from weight shapes, and one-line refusals of non-TACO layouts. */
class TacoConfigInferTest {
  /** The bundled default model, relative to a module folder (where Surefire runs). */
  private static final Path DEMO = Path.of("..", "models", "demo", "taco-tiny-demo.safetensors");

  @Test
  void goldenSmallCheckpointInfersTheSmallPreset() {
    // The torch checkpoint carries module. prefixes (stripped by StateDict.load) and empty CDF buffers.
    assertEquals(TacoConfig.SMALL, TacoConfig.infer(StateDict.load(Golden.golden("taco-small/checkpoint.pth.tar"))));
    assertEquals(TacoConfig.SMALL, TacoConfig.infer(StateDict.load(Golden.tacoSmallWeights())));
  }

  @Test
  void officialFullLayoutInfersTheFullPreset() {
    assertEquals(TacoConfig.FULL, TacoConfig.infer(manifestStateDict()));
  }

  @Test
  void bundledDemoModelInfersTheTinyPreset() {
    assertTrue(Files.isRegularFile(DEMO), "bundled demo model not found at " + DEMO.toAbsolutePath());
    assertEquals(TacoConfig.TINY, TacoConfig.infer(StateDict.load(DEMO)));
  }

  @Test
  void unevenSlicesOfAnotherWidthAreReadAsStored() {
    // Not a preset: N=24, M=48, three slices; heads default to the official 8 (they leave no trace in shapes).
    TacoConfig odd = new TacoConfig(24, 48, List.of(8, 16, 24), 64, 8);
    assertEquals(odd, TacoConfig.infer(shapesOf(odd)));
  }

  @Test
  void missingKeyIsNamed() {
    Map<String, HostTensor> w = shapesOf(TacoConfig.SMALL);
    w.remove("g_a.analysis_transform.16.weight");
    WeightsException e = assertThrows(WeightsException.class, () -> TacoConfig.infer(w));
    assertOneLine(e);
    assertTrue(e.getMessage().contains("no g_a.analysis_transform.16.weight"), e.getMessage());

    Map<String, HostTensor> v = shapesOf(TacoConfig.SMALL);
    v.remove("h_s.increase.4.bias");
    e = assertThrows(WeightsException.class, () -> TacoConfig.infer(v));
    assertOneLine(e);
    assertTrue(e.getMessage().contains("missing (1): h_s.increase.4.bias"), e.getMessage());
  }

  @Test
  void slicesNotSummingToMAreRefusedWithTheShapesFound() {
    Map<String, HostTensor> w = shapesOf(TacoConfig.SMALL);
    w.remove("local_context.4.weight"); // slices [4, 4, 8, 16] sum to 32, gA says M=64
    WeightsException e = assertThrows(WeightsException.class, () -> TacoConfig.infer(w));
    assertOneLine(e);
    assertTrue(e.getMessage().contains("do not sum to M=64"), e.getMessage());
    assertTrue(e.getMessage().contains("g_a.analysis_transform.16.weight [64, 32, 5, 5]"), e.getMessage());
    assertTrue(e.getMessage().contains("slices [4, 4, 8, 16]"), e.getMessage());
  }

  @Test
  void inconsistentShapesAreRefused() {
    // gS's first conv says M=80 while gA says M=64: every key exists, one shape does not fit.
    Map<String, HostTensor> w = shapesOf(TacoConfig.SMALL);
    w.put("g_s.synthesis_transform.1.weight", tensor(new long[] {80, 32, 5, 5}));
    WeightsException e = assertThrows(WeightsException.class, () -> TacoConfig.infer(w));
    assertOneLine(e);
    assertTrue(
        e.getMessage().contains("wrong shape (1): g_s.synthesis_transform.1.weight [80, 32, 5, 5] (expected [64, 32, 5, 5])"),
        e.getMessage());

    // A rank the layout cannot have.
    Map<String, HostTensor> v = shapesOf(TacoConfig.SMALL);
    v.put("g_a.analysis_transform.0.weight", tensor(new long[] {32, 75}));
    e = assertThrows(WeightsException.class, () -> TacoConfig.infer(v));
    assertOneLine(e);
    assertTrue(e.getMessage().contains("g_a.analysis_transform.0.weight has shape [32, 75]"), e.getMessage());

    // A key the layout does not have is not silently ignored.
    Map<String, HostTensor> u = shapesOf(TacoConfig.SMALL);
    u.put("extra.weight", tensor(new long[] {1}));
    e = assertThrows(WeightsException.class, () -> TacoConfig.infer(u));
    assertOneLine(e);
    assertTrue(e.getMessage().contains("unexpected (1): extra.weight"), e.getMessage());
  }

  @Test
  void nonTacoCheckpointIsRefused() {
    // A ResNet-like state dict: none of TACO's keys.
    Map<String, HostTensor> w = new LinkedHashMap<>();
    w.put("conv1.weight", tensor(new long[] {64, 3, 7, 7}));
    w.put("fc.weight", tensor(new long[] {1000, 512}));
    WeightsException e = assertThrows(WeightsException.class, () -> TacoConfig.infer(w));
    assertOneLine(e);
    assertTrue(e.getMessage().contains("no g_a.analysis_transform.0.weight (2 keys, first conv1.weight)"), e.getMessage());
    assertThrows(WeightsException.class, () -> TacoConfig.infer(Map.of()));
  }

  @Test
  void widthNotDivisibleByTheHeadsIsRefused() {
    // N=20 cannot be split over the 8 heads every TACO checkpoint is read with.
    Map<String, HostTensor> w = shapesOf(TacoConfig.SMALL);
    w.put("g_a.analysis_transform.0.weight", tensor(new long[] {20, 3, 5, 5}));
    WeightsException e = assertThrows(WeightsException.class, () -> TacoConfig.infer(w));
    assertOneLine(e);
    assertTrue(e.getMessage().contains("heads=8"), e.getMessage());
  }

  private static void assertOneLine(WeightsException e) {
    assertTrue(e.getMessage().startsWith("weights fit no TACO layout: "), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
  }

  /** Every key of a config with its shape (data zeros), as a training checkpoint stores it. */
  private static Map<String, HostTensor> shapesOf(TacoConfig c) {
    Map<String, HostTensor> out = new LinkedHashMap<>();
    TacoModel.expectedShapes(c).forEach((k, s) -> out.put(k, tensor(s)));
    out.put("gaussian_conditional._quantized_cdf", tensor(new long[] {0}));
    return out;
  }

  /** The official full layout from the golden manifest (441 keys with module. prefix, buffers included). */
  private static Map<String, HostTensor> manifestStateDict() {
    JsonNode manifest = Golden.json("taco-full-manifest.json");
    String prefix = manifest.get("key_prefix").asText();
    Map<String, HostTensor> out = new LinkedHashMap<>();
    for (JsonNode e : manifest.get("entries")) {
      long[] shape = new long[e.get("shape").size()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = e.get("shape").get(i).asLong();
      }
      out.put(e.get("key").asText().substring(prefix.length()), tensor(shape));
    }
    assertEquals(manifest.get("num_keys").asInt(), out.size());
    return out;
  }

  /** One zero buffer, grown to the largest tensor asked for, backs every tensor (only shapes matter here). */
  private static ByteBuffer zeros = ByteBuffer.allocate(0);

  private static HostTensor tensor(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    if (zeros.capacity() < 4 * n) {
      zeros = ByteBuffer.allocate(Math.toIntExact(4 * n));
    }
    return new HostTensor(DataType.FLOAT32, shape, zeros.duplicate().limit((int) (4 * n)));
  }
}
