package ai.taco.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.taco.core.error.WeightsException;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.core.weights.SafeTensors;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LPIPS (alex, v0.1) against lpips 0.1.4 on a random trunk with the real v0.1 heads (golden lpips/). */
class LpipsTest {
  private static final double REL = 1e-5;
  private static final String WEIGHTS = "lpips/lpips-alex-randtrunk.safetensors";
  private static Lpips lpips;
  private static Map<String, HostTensor> cases;
  private static NDManager manager;

  @BeforeAll
  static void load() {
    lpips = Lpips.load(Golden.golden(WEIGHTS));
    cases = Golden.tensors("lpips/lpips-cases.safetensors");
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void close() {
    lpips.close();
    manager.close();
  }

  private static NDArray image(String name) {
    return TestTensors.image(manager, cases.get(name));
  }

  private static float value(String name) {
    return cases.get(name).toFloatArray()[0];
  }

  @Test
  void distancesMatchBothInputConventions() {
    for (int k = 0; k < 4; k++) {
      NDArray x0 = image("pair" + k + ".x0_u8");
      NDArray x1 = image("pair" + k + ".x1");
      float m11 = value("pair" + k + ".lpips_m11");
      float taco = value("pair" + k + ".lpips_taco01");
      assertEquals(m11, lpips.distance(x0, x1, Lpips.InputConvention.STANDARD)[0], m11 * REL, "standard pair " + k);
      assertEquals(taco, lpips.distance(x0, x1, Lpips.InputConvention.TACO_QUIRK)[0], taco * REL, "taco pair " + k);
    }
  }

  @Test
  void batchGivesOneValuePerImage() {
    NDArray x0 = image("pair0.x0_u8").concat(image("pair1.x0_u8"), 0);
    NDArray x1 = image("pair0.x1").concat(image("pair1.x1"), 0);
    float[] d = lpips.distance(x0, x1, Lpips.InputConvention.STANDARD);
    assertArrayEquals(new float[] {value("pair0.lpips_m11"), value("pair1.lpips_m11")}, d, 1e-6f);
  }

  @Test
  void perLayerDebugTensorsMatch() {
    Map<String, NDArray> debug = new HashMap<>();
    NDArray total = lpips.trace(image("pair0.x0_u8"), image("pair0.x1"), Lpips.InputConvention.STANDARD, debug);
    int compared = 0;
    for (String name : cases.keySet()) {
      if (!name.startsWith("debug.pair0.")) {
        continue;
      }
      String key = name.substring("debug.pair0.".length());
      HostTensor ref = cases.get(name);
      NDArray got = debug.get(key);
      assertTrue(got != null, "no debug tensor " + key);
      assertEquals(new Shape(ref.shape()), got.getShape(), key);
      float[] e = ref.toFloatArray();
      float[] a = got.toFloatArray();
      double maxRef = 0;
      double maxErr = 0;
      for (int i = 0; i < e.length; i++) {
        maxRef = Math.max(maxRef, Math.abs(e[i]));
        maxErr = Math.max(maxErr, Math.abs(e[i] - a[i]));
      }
      assertTrue(maxErr <= REL * maxRef, key + ": max error " + maxErr + " vs max |ref| " + maxRef);
      compared++;
    }
    assertEquals(22, compared, "scaled0/1, feat0-4 x0/x1, lin0-4, res0-4");
    assertEquals(value("pair0.lpips_m11"), total.getFloat(), value("pair0.lpips_m11") * REL);
  }

  /**
   * Autograd gradient vs a central finite difference, in float64 (the same code path; in float32 the many ReLU and
   * max-pool kinks of a random trunk make finite differences too rough to compare).
   */
  @Test
  void gradientMatchesFiniteDifference() {
    try (Lpips lp64 = Lpips.fromStateDict(Golden.tensors(WEIGHTS), DataType.FLOAT64);
        NDManager m = manager.newSubManager()) {
      HostTensor t0 = cases.get("pair1.x0_u8");
      NDArray x0 = TestTensors.image(m, t0).toType(DataType.FLOAT64, false);
      NDArray x1 = image("pair1.x1").toType(DataType.FLOAT64, false);
      double[] base = x0.toDoubleArray();
      x0.setRequiresGradient(true);
      try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        gc.backward(lp64.forward(x0, x1).sum());
      }
      double[] g;
      try (NDArray grad = x0.getGradient()) {
        g = grad.toDoubleArray();
      }
      Random rnd = new Random(5);
      for (int trial = 0; trial < 3; trial++) {
        double[] v = new double[g.length];
        double analytic = 0;
        for (int i = 0; i < v.length; i++) {
          v[i] = rnd.nextGaussian();
          analytic += g[i] * v[i];
        }
        double eps = 1e-6;
        double[] plus = new double[base.length];
        double[] minus = new double[base.length];
        for (int i = 0; i < base.length; i++) {
          plus[i] = base[i] + eps * v[i];
          minus[i] = base[i] - eps * v[i];
        }
        double fp = lp64.forward(m.create(plus, x0.getShape()), x1).getDouble();
        double fm = lp64.forward(m.create(minus, x0.getShape()), x1).getDouble();
        double numeric = (fp - fm) / (2 * eps);
        assertTrue(Math.abs(analytic) > 1e-4, "non-trivial gradient");
        assertEquals(numeric, analytic, 1e-4 * Math.abs(numeric), "d lpips / dx along random direction " + trial);
      }
    }
  }

  /** The two public files (torchvision AlexNet + lpips heads), written as files, give the same network. */
  @Test
  void publicTorchvisionPlusHeadsPairGivesTheSameNetwork(@TempDir Path dir) throws Exception {
    Map<String, HostTensor> trunk = new LinkedHashMap<>();
    Map<String, HostTensor> heads = new LinkedHashMap<>();
    Golden.tensors(WEIGHTS).forEach((k, t) -> {
      if (k.startsWith("net.slice")) {
        trunk.put("features." + k.substring(k.indexOf('.', 4) + 1), t); // net.slice2.3.weight -> features.3.weight
      } else if (k.startsWith("lin") && !k.startsWith("lins.")) {
        heads.put(k, t);
      }
    });
    trunk.put("classifier.1.weight", HostTensor.ofFloats(new float[16], 4, 4)); // ignored, like AlexNet's classifier
    Path alexnet = dir.resolve("alexnet.safetensors");
    Path lin = dir.resolve("alex.safetensors");
    SafeTensors.write(alexnet, trunk, Map.of());
    SafeTensors.write(lin, heads, Map.of());
    NDArray x0 = image("pair0.x0_u8");
    NDArray x1 = image("pair0.x1");
    float m11 = value("pair0.lpips_m11");
    try (Lpips pair = Lpips.load(lin, alexnet)) { // order does not matter
      assertEquals(m11, pair.distance(x0, x1, Lpips.InputConvention.STANDARD)[0], m11 * REL);
    }
  }

  @Test
  void strictKeysAndShapes() {
    Map<String, HostTensor> sd = new LinkedHashMap<>();
    Lpips.stateDictShapes().forEach((k, s) -> sd.put(k, HostTensor.ofFloats(new float[Math.toIntExact(numel(s))], s)));
    sd.remove("lin3.model.1.weight");
    sd.put("net.slice1.0.bias", HostTensor.ofFloats(new float[63], 63));
    sd.put("extra.key", HostTensor.ofFloats(new float[1], 1));
    WeightsException e = assertThrows(WeightsException.class, () -> Lpips.fromStateDict(sd, DataType.FLOAT32));
    assertTrue(e.getMessage().contains("lin3.model.1.weight"), e.getMessage());
    assertTrue(e.getMessage().contains("extra.key"), e.getMessage());
    assertTrue(e.getMessage().contains("net.slice1.0.bias"), e.getMessage());
    assertThrows(MetricException.class,
        () -> lpips.distance(manager.zeros(new Shape(1, 3, 64, 64)), manager.zeros(new Shape(1, 3, 64, 63)),
            Lpips.InputConvention.STANDARD));
    assertThrows(WeightsException.class, () -> Lpips.load(Path.of("target/does-not-exist.pth")));
  }

  private static long numel(long[] s) {
    long n = 1;
    for (long d : s) {
      n *= d;
    }
    return n;
  }

  @Test
  void refusesImagesSmallerThanAlexNetAcceptsWithATypedError() {
    NDArray small = manager.zeros(new ai.djl.ndarray.types.Shape(1, 3, Lpips.MIN_SIDE - 1, 64));
    MetricException e =
        org.junit.jupiter.api.Assertions.assertThrows(MetricException.class, () -> lpips.distance(small, small,
            Lpips.InputConvention.STANDARD));
    org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("at least 31 px"), e.getMessage());
    NDArray ok = manager.zeros(new ai.djl.ndarray.types.Shape(1, 3, Lpips.MIN_SIDE, Lpips.MIN_SIDE));
    org.junit.jupiter.api.Assertions.assertEquals(0f, lpips.distance(ok, ok, Lpips.InputConvention.STANDARD)[0], 0f);
  }
}
