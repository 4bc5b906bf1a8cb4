package ai.taco.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.error.WeightsException;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.core.weights.SafeTensors;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PieAPP against piq 0.8 on random weights and two 96x128 Kodak crop pairs (reference/pieapp/). */
class PieappTest {
  /** Scores and per-patch values, relative to the largest magnitude of each (torch 1.13 vs libtorch 2.7 sums). */
  private static final double REL = 1e-5;

  private static Map<String, HostTensor> weights;
  private static Map<String, HostTensor> cases;
  private static Pieapp pieapp;
  private static NDManager manager;

  @BeforeAll
  static void load() {
    weights = PieappRandomWeights.stateDict();
    cases = Golden.tensors("pieapp/pieapp-cases.safetensors");
    pieapp = Pieapp.fromStateDict(weights);
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void close() {
    pieapp.close();
    manager.close();
  }

  private static NDArray image(String name) {
    return TestTensors.image(manager, cases.get(name));
  }

  private static void assertClose(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what);
    double scale = 0;
    for (float e : expected) {
      scale = Math.max(scale, Math.abs(e));
    }
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], actual[i], REL * scale, what + " [" + i + "]");
    }
  }

  @Test
  void rebuiltRandomWeightsAreTheReferenceOnes() {
    double[] sums = cases.get("weights_sum").toDoubleArray();
    float[] firsts = cases.get("weights_first4").toFloatArray();
    List<String> names = List.copyOf(weights.keySet());
    assertEquals(names.size(), sums.length);
    for (int k = 0; k < names.size(); k++) {
      float[] w = weights.get(names.get(k)).toFloatArray();
      double sum = 0;
      double abs = 0;
      for (float v : w) {
        sum += v;
        abs += Math.abs(v);
      }
      assertEquals(sums[k], sum, 1e-12 * abs + 1e-30, names.get(k) + " sum");
      for (int i = 0; i < Math.min(4, w.length); i++) {
        assertEquals(firsts[k * 4 + i], w[i], 0f, names.get(k) + " element " + i);
      }
    }
  }

  @Test
  void scoresMatchPiq() {
    NDArray x = image("dist_u8");
    NDArray y = image("ref_u8");
    assertClose(cases.get("score").toFloatArray(), pieapp.scores(x, y), "per-image PieAPP");
    float mean = cases.get("score_mean").toFloatArray()[0];
    assertEquals(mean, pieapp.score(x, y), REL * Math.abs(mean), "PieAPP, reduction mean");
  }

  @Test
  void patchErrorsAndWeightsMatchPiq() {
    Pieapp.PatchScores p = pieapp.patchScores(image("dist_u8"), image("ref_u8"), Pieapp.DEFAULT_STRIDE,
        Pieapp.DEFAULT_DATA_RANGE);
    // 96x128 at stride 27: 2 patch rows x 3 patch columns per image.
    assertEquals(12, p.distance().length);
    assertClose(cases.get("patch_distance").toFloatArray(), p.distance(), "patch errors");
    assertClose(cases.get("patch_weight").toFloatArray(), p.weight(), "patch weights");
  }

  @Test
  void eachImageOfABatchIsScoredAlone() {
    float[] both = pieapp.scores(image("dist_u8"), image("ref_u8"));
    NDArray x = image("dist_u8");
    NDArray y = image("ref_u8");
    for (int n = 0; n < 2; n++) {
      float[] one = pieapp.scores(x.get(n + ":" + (n + 1)), y.get(n + ":" + (n + 1)));
      assertEquals(both[n], one[0], REL * Math.abs(both[n]), "image " + n);
    }
  }

  /**
   * Identical images: every feature difference is zero, so each patch's error is the score head at zero,
   * {@code r_w·(0.01·(W2·relu(b1) + b2)) + r_b}, and the weighted mean of equal errors is that value. Computed here in
   * double from the weights alone.
   */
  @Test
  void identicalImagesGiveTheScoreHeadAtZeroDifference() {
    float[] b1 = weights.get("fc1_score.bias").toFloatArray();
    float[] w2 = weights.get("fc2_score.weight").toFloatArray();
    double s = weights.get("fc2_score.bias").toFloatArray()[0];
    for (int j = 0; j < b1.length; j++) {
      s += (double) w2[j] * Math.max(0, b1[j]);
    }
    double expected = weights.get("ref_score_subtract.weight").toFloatArray()[0] * (0.01 * s)
        + weights.get("ref_score_subtract.bias").toFloatArray()[0];
    NDArray y = image("ref_u8");
    float[] got = pieapp.scores(y, y);
    for (float g : got) {
      assertEquals(expected, g, 1e-6 * Math.abs(expected));
    }
    assertArrayEquals(cases.get("score_identical").toFloatArray(), got, (float) (1e-6 * Math.abs(expected)));
  }

  @Test
  void imagesBelowThePatchSizeAreRefused() {
    NDArray small = manager.zeros(new Shape(1, 3, Pieapp.PATCH_SIZE - 1, 100));
    ImageTooSmallException e = assertThrows(ImageTooSmallException.class, () -> pieapp.scores(small, small));
    assertEquals(Pieapp.PATCH_SIZE - 1, e.shortSide());
    assertTrue(e.getMessage().contains("PieAPP"), e.getMessage());
    NDArray exact = manager.zeros(new Shape(1, 3, Pieapp.PATCH_SIZE, Pieapp.PATCH_SIZE));
    assertEquals(1, pieapp.scores(exact, exact).length); // one patch fits exactly
  }

  @Test
  void valuesOutsideTheDataRangeAndMismatchedShapesAreRefused() {
    NDArray y = image("ref_u8");
    MetricException range = assertThrows(MetricException.class, () -> pieapp.scores(y.mul(2), y));
    assertTrue(range.getMessage().contains("outside [0, 1.0]"), range.getMessage());
    assertThrows(MetricException.class, () -> pieapp.scores(y, y.get(":, :, 0:80, :")));
    assertThrows(MetricException.class, () -> pieapp.scores(y, y, 0, 1.0));
  }

  @Test
  void weightsThatDoNotFitAreListedTogether(@TempDir Path dir) throws Exception {
    Map<String, HostTensor> bad = new LinkedHashMap<>();
    bad.put("conv1.weight", HostTensor.ofFloats(new float[3 * 3 * 3 * 3], 3, 3, 3, 3));
    bad.put("extra", HostTensor.ofFloats(new float[1], 1));
    Path file = dir.resolve("bad.safetensors");
    SafeTensors.write(file, bad, Map.of());
    WeightsException e = assertThrows(WeightsException.class, () -> Pieapp.load(file));
    String m = e.getMessage();
    assertTrue(m.contains("missing (31)") && m.contains("conv11.weight") && m.contains("unexpected (1): extra")
        && m.contains("conv1.weight [3, 3, 3, 3] (expected [64, 3, 3, 3])"), m);
  }
}
