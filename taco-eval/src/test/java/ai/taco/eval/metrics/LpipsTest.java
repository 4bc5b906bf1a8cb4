package ai.taco.eval.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** LPIPS (alex, v0.1) against lpips 0.1.4 on a random trunk with the real v0.1 heads (golden lpips/). */
class LpipsTest {
  private static final double REL = 1e-5;
  private static Lpips lpips;
  private static GoldenFiles.Contents cases;
  private static NDManager manager;

  @BeforeAll
  static void load() throws Exception {
    lpips = Lpips.load(GoldenFiles.golden("lpips/lpips-alex-randtrunk.safetensors"));
    cases = GoldenFiles.safetensors("lpips/lpips-cases.safetensors");
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void close() {
    lpips.close();
    manager.close();
  }

  private static NDArray image(String name) {
    GoldenFiles.Tensor t = cases.get(name);
    return manager.create(t.floats(), new Shape(t.shape()));
  }

  @Test
  void distancesMatchBothInputConventions() {
    for (int k = 0; k < 4; k++) {
      NDArray x0 = image("pair" + k + ".x0_u8");
      NDArray x1 = image("pair" + k + ".x1");
      float m11 = cases.get("pair" + k + ".lpips_m11").floats()[0];
      float taco = cases.get("pair" + k + ".lpips_taco01").floats()[0];
      assertEquals(m11, lpips.distance(x0, x1, Lpips.InputConvention.STANDARD)[0], m11 * REL, "standard pair " + k);
      assertEquals(taco, lpips.distance(x0, x1, Lpips.InputConvention.TACO_QUIRK)[0], taco * REL, "taco pair " + k);
    }
  }

  @Test
  void perLayerDebugTensorsMatch() {
    Map<String, NDArray> debug = new HashMap<>();
    NDArray x0 = image("pair0.x0_u8");
    NDArray x1 = image("pair0.x1");
    NDArray total = lpips.trace(x0, x1, Lpips.InputConvention.STANDARD, debug);
    for (String name : cases.tensors().keySet()) {
      if (!name.startsWith("debug.pair0.")) {
        continue;
      }
      String key = name.substring("debug.pair0.".length());
      GoldenFiles.Tensor ref = cases.get(name);
      NDArray got = debug.get(key);
      assertTrue(got != null, "no debug tensor " + key);
      assertEquals(new Shape(ref.shape()), got.getShape(), key);
      float[] e = ref.floats();
      float[] a = got.toFloatArray();
      double maxRef = 0;
      double maxErr = 0;
      for (int i = 0; i < e.length; i++) {
        maxRef = Math.max(maxRef, Math.abs(e[i]));
        maxErr = Math.max(maxErr, Math.abs(e[i] - a[i]));
      }
      assertTrue(maxErr <= REL * maxRef, key + ": max error " + maxErr + " vs max |ref| " + maxRef);
    }
    float m11 = cases.get("pair0.lpips_m11").floats()[0];
    assertEquals(m11, total.getFloat(), m11 * REL);
  }

  /**
   * Autograd gradient vs a central finite difference, in float64 (the same code path; in float32 the many ReLU and
   * max-pool kinks of a random trunk make finite differences too rough to compare).
   */
  @Test
  void gradientMatchesFiniteDifference() throws Exception {
    GoldenFiles.Contents sd = GoldenFiles.safetensors("lpips/lpips-alex-randtrunk.safetensors");
    NDManager owner = NDManager.newBaseManager();
    Map<String, NDArray> weights = new LinkedHashMap<>();
    sd.tensors().forEach((k, t) -> weights.put(k, owner.create(t.doubles(), new Shape(t.shape()))));
    try (Lpips lp64 = Lpips.fromStateDict(owner, weights, DataType.FLOAT64);
        NDManager m = manager.newSubManager()) {
      GoldenFiles.Tensor t0 = cases.get("pair1.x0_u8");
      double[] base = t0.doubles();
      NDArray x0 = m.create(base, new Shape(t0.shape()));
      NDArray x1 = m.create(cases.get("pair1.x1").doubles(), new Shape(t0.shape()));
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

  @Test
  void publicTorchvisionPlusHeadsPairGivesTheSameNetwork() throws Exception {
    GoldenFiles.Contents sd = GoldenFiles.safetensors("lpips/lpips-alex-randtrunk.safetensors");
    NDManager owner = NDManager.newBaseManager();
    Map<String, NDArray> trunk = new LinkedHashMap<>();
    Map<String, NDArray> heads = new LinkedHashMap<>();
    for (Map.Entry<String, GoldenFiles.Tensor> e : sd.tensors().entrySet()) {
      NDArray a = owner.create(e.getValue().floats(), new Shape(e.getValue().shape()));
      String k = e.getKey();
      if (k.startsWith("net.slice")) {
        // net.slice2.3.weight -> features.3.weight (torchvision AlexNet names)
        trunk.put("features." + k.substring(k.indexOf('.', 4) + 1), a);
      } else if (k.startsWith("lin") && !k.startsWith("lins.")) {
        heads.put(k, a);
      }
    }
    trunk.put("classifier.1.weight", owner.zeros(new Shape(4, 4))); // ignored like torchvision's classifier
    try (Lpips pair = Lpips.fromStateDict(owner, Lpips.fromTorchvision(trunk, heads))) {
      NDArray x0 = image("pair0.x0_u8");
      NDArray x1 = image("pair0.x1");
      float m11 = cases.get("pair0.lpips_m11").floats()[0];
      assertEquals(m11, pair.distance(x0, x1, Lpips.InputConvention.STANDARD)[0], m11 * REL);
    }
  }

  @Test
  void strictKeysAndShapes() {
    try (NDManager owner = NDManager.newBaseManager()) {
      Map<String, NDArray> sd = new LinkedHashMap<>();
      Lpips.expectedKeys().forEach((k, s) -> sd.put(k, owner.zeros(s)));
      sd.remove("lin3.model.1.weight");
      sd.put("net.slice1.0.bias", owner.zeros(new Shape(63)));
      sd.put("extra.key", owner.zeros(new Shape(1)));
      MetricException e = assertThrows(MetricException.class, () -> Lpips.fromStateDict(owner, sd));
      assertTrue(e.getMessage().contains("lin3.model.1.weight"), e.getMessage());
      assertTrue(e.getMessage().contains("extra.key"), e.getMessage());
      assertTrue(e.getMessage().contains("net.slice1.0.bias has shape (63)"), e.getMessage());
      assertThrows(MetricException.class,
          () -> lpips.distance(owner.zeros(new Shape(1, 3, 64, 64)), owner.zeros(new Shape(1, 3, 64, 63)),
              Lpips.InputConvention.STANDARD));
    }
  }
}
