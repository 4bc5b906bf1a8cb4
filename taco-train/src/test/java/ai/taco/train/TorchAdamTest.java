package ai.taco.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.taco.core.testing.Golden;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Three torch-Adam steps on the golden small model's 19 gradients (treated as fixed gradients, scaled differently at
 * each step) must give the parameters an independent double-precision evaluation of torch.optim.Adam's formula gives.
 */
class TorchAdamTest {

  static final double[] STEP_SCALES = {1.0, -0.5, 2.0};
  static final double MAIN_LR = 1e-4; // train.py default --learning-rate
  static final double AUX_LR = 1e-3; // train.py default --aux-learning-rate

  @Test
  void threeStepsMatchTorchAdamFormula() throws IOException {
    try (NDManager m = NDManager.newBaseManager()) {
      Map<String, NDArray> weights = Golden.ndArrays(m, Golden.tacoSmallWeights());
      Map<String, NDArray> signal = Golden.ndArrays(m, "taco-small/train_signal.safetensors");
      // Main group: the 18 non-quantile gradients; aux group: quantiles with the aux-loss gradient.
      TreeMap<String, NDArray> mainParams = new TreeMap<>();
      Map<String, float[]> mainGrads = new LinkedHashMap<>();
      for (Map.Entry<String, NDArray> e : signal.entrySet()) {
        if (e.getKey().startsWith("grad.") && !e.getKey().endsWith(".quantiles")) {
          String name = e.getKey().substring("grad.".length());
          mainParams.put(name, weights.get(name).duplicate());
          mainGrads.put(name, e.getValue().toFloatArray());
        }
      }
      assertEquals(18, mainParams.size());
      String q = "entropy_bottleneck.quantiles";
      Map<String, NDArray> auxParams = Map.of(q, weights.get(q).duplicate());
      Map<String, float[]> auxGrads = Map.of(q, signal.get("aux_grad." + q).toFloatArray());

      Map<String, float[]> initial = new LinkedHashMap<>();
      mainParams.forEach((k, v) -> initial.put(k, v.toFloatArray()));
      auxParams.forEach((k, v) -> initial.put(k, v.toFloatArray()));

      try (TorchAdam main = new TorchAdam(mainParams, MAIN_LR);
          TorchAdam aux = new TorchAdam(auxParams, AUX_LR)) {
        for (double c : STEP_SCALES) {
          main.step(scaled(m, mainGrads, mainParams, c));
          aux.step(scaled(m, auxGrads, auxParams, c));
        }
        for (String name : mainParams.keySet()) {
          assertEquals(3, main.state().get(name).step());
        }
      }
      double worst = 0;
      for (Map.Entry<String, NDArray> e : mainParams.entrySet()) {
        worst = Math.max(worst, check(e.getKey(), initial.get(e.getKey()), mainGrads.get(e.getKey()),
            e.getValue().toFloatArray(), MAIN_LR));
      }
      worst = Math.max(worst, check(q, initial.get(q), auxGrads.get(q), auxParams.get(q).toFloatArray(), AUX_LR));
      System.out.println("TorchAdamTest: worst |delta error| / lr = " + worst);
    }
  }

  private static Map<String, NDArray> scaled(
      NDManager m, Map<String, float[]> grads, Map<String, NDArray> params, double c) {
    Map<String, NDArray> out = new LinkedHashMap<>();
    grads.forEach((k, g) -> out.put(k, m.create(g, params.get(k).getShape()).mul(c)));
    return out;
  }

  /** torch.optim.Adam's single-tensor update, evaluated independently in double. Returns worst error / lr. */
  private static double check(String name, float[] p0, float[] g, float[] actual, double lr) {
    double b1 = 0.9;
    double b2 = 0.999;
    double eps = 1e-8;
    double worst = 0;
    for (int i = 0; i < p0.length; i++) {
      double p = p0[i];
      double mm = 0;
      double vv = 0;
      for (int t = 1; t <= STEP_SCALES.length; t++) {
        double gt = (float) (g[i] * STEP_SCALES[t - 1]);
        mm = b1 * mm + (1 - b1) * gt;
        vv = b2 * vv + (1 - b2) * gt * gt;
        double stepSize = lr / (1 - Math.pow(b1, t));
        double denom = Math.sqrt(vv) / Math.sqrt(1 - Math.pow(b2, t)) + eps;
        p -= stepSize * mm / denom;
      }
      double err = Math.abs(actual[i] - p);
      // float32 parameter storage: half an ulp of |p| per step plus float32 rounding of an O(lr) update.
      double tol = 3 * Math.ulp((float) Math.abs(p)) + 1e-5 * lr;
      assertTrue(err <= tol, name + "[" + i + "]: expected " + p + " got " + actual[i] + " (err " + err + ")");
      worst = Math.max(worst, err / lr);
    }
    return worst;
  }
}
