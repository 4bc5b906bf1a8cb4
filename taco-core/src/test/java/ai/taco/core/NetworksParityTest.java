package ai.taco.core;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.taco.core.testing.Diff;
import ai.taco.core.testing.Golden;
import ai.taco.core.weights.StateDict;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every layer of gA, hA, hS, gS against the official outputs dumped for golden image 0 (taco-small). */
class NetworksParityTest {
  private static final double TOL = 1e-4;

  @Test
  void everyLayerMatchesOfficial() {
    try (NDManager m = NDManager.newBaseManager()) {
      TacoModel model = TacoModel.load(
          StateDict.load(Golden.tacoSmallWeights()), TacoConfig.SMALL, m);
      Map<String, NDArray> g = Golden.ndArrays(m, "taco-small/img0_64x64.safetensors");
      double worst = 0;
      StringBuilder report = new StringBuilder();

      List<NDArray> trace = new ArrayList<>();
      model.gA().forward(g.get("x"), g.get("text_embeddings"), trace);
      worst = Math.max(worst, compare(report, "g_a", trace, g));
      trace.clear();
      model.hyperprior().hA().forward(g.get("y"), trace);
      worst = Math.max(worst, compare(report, "h_a", trace, g));
      trace.clear();
      model.hyperprior().hS().forward(g.get("forward.z_hat"), trace);
      worst = Math.max(worst, compare(report, "h_s", trace, g));
      trace.clear();
      model.gS().forward(g.get("forward.y_hat"), trace);
      worst = Math.max(worst, compare(report, "g_s", trace, g));
      System.out.println("[NetworksParityTest] worst |err| " + worst + "\n" + report);
      assertTrue(worst < TOL, report.toString());
    }
  }

  private static double compare(StringBuilder report, String net, List<NDArray> trace, Map<String, NDArray> g) {
    double worst = 0;
    for (int i = 0; i < trace.size(); i++) {
      String key = "layers." + net + "." + i;
      NDArray expected = g.get(key);
      double scale = expected.abs().max().getFloat();
      double e = Diff.maxAbs(trace.get(i), expected);
      report.append(String.format("%s max|err|=%.3g (max|ref|=%.3g)%n", key, e, scale));
      worst = Math.max(worst, e);
    }
    return worst;
  }
}
