package ai.taco.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import ai.taco.core.TacoConfig;
import ai.taco.core.TacoModel;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.core.weights.StateDict;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The training contract against the official gradients (taco-small train_signal): the official RateDistortionLoss
 * (k_P = k_J = 0) on an eval-mode forward of image 0, its loss terms and the gradients of the 19 listed parameters
 * within 1e-4 relative (max |Δ| / max |ref| per tensor), then the EntropyBottleneck aux loss and its quantiles
 * gradient after zeroing the gradients the way the trainer does. The one parity test of the training signal.
 */
class RateDistortionLossParityTest {

  static final double REL_TOL = 1e-4;

  static double rel(NDArray a, NDArray ref) {
    double maxRef = ref.abs().max().getFloat();
    return a.sub(ref).abs().max().getFloat() / maxRef;
  }

  static double relScalar(double a, double ref) {
    return Math.abs(a - ref) / Math.abs(ref);
  }

  @Test
  void lossTermsAndGradientsMatchOfficial() {
    Map<String, HostTensor> sig = Golden.tensors("taco-small/train_signal.safetensors");
    Map<String, HostTensor> img = Golden.tensors("taco-small/img0_64x64.safetensors");
    try (NDManager m = NDManager.newBaseManager()) {
      TacoModel model =
          TacoModel.load(StateDict.load(Golden.tacoSmallWeights()), TacoConfig.SMALL, m);
      model.update();
      Map<String, NDArray> params = model.parameters();
      params.values().forEach(p -> p.setRequiresGradient(true));
      double lambda = sig.get("lambda").toDoubleArray()[0];
      RateDistortionLoss loss = RateDistortionLoss.rateDistortionOnly(lambda);
      StringBuilder report = new StringBuilder();
      double worst = 0;
      try (NDScope scope = new NDScope()) {
        NDArray x = img.get("x").toNDArray(m);
        RateDistortionLoss.Terms t;
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
          t = loss.compute(model.forward(x, img.get("text_embeddings").toNDArray(m), false), x, List.of(""));
          gc.backward(t.loss());
        }
        assertNull(t.lpips());
        assertNull(t.joint());
        double[] got = {t.loss().getFloat(), t.bpp().getFloat(), t.mse().getFloat()};
        // The numbers in the golden README: loss 11.634334564208984, bpp 4.7828545570373535, mse 0.26341715455055237.
        double[] ref = {sig.get("loss").toFloatArray()[0], sig.get("bpp_loss").toFloatArray()[0],
            sig.get("mse_loss").toFloatArray()[0]};
        assertEquals(11.634334564208984, ref[0], 1e-6);
        String[] names = {"loss", "bpp", "mse"};
        for (int i = 0; i < 3; i++) {
          double r = relScalar(got[i], ref[i]);
          report.append(String.format("%s %.8g (ref %.8g) rel %.2g%n", names[i], got[i], ref[i], r));
          worst = Math.max(worst, r);
        }
        int grads = 0;
        for (String key : sig.keySet()) {
          if (key.startsWith("grad.")) {
            String name = key.substring("grad.".length());
            double r = rel(params.get(name).getGradient(), sig.get(key).toNDArray(m));
            report.append(String.format("  grad %s rel %.2g%n", name, r));
            worst = Math.max(worst, r);
            grads++;
          }
        }
        assertEquals(19, grads);
      }
      try (NDScope scope = new NDScope()) {
        // The trainer's zero_grad: grad.zero_() on every parameter.
        for (NDArray p : params.values()) {
          JniUtils.zeroGrad((PtNDArray) p);
        }
        NDArray q = params.get("entropy_bottleneck.quantiles");
        assertEquals(0f, q.getGradient().abs().sum().getFloat());
        NDArray aux;
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
          aux = model.auxLoss();
          gc.backward(aux);
        }
        double ra = relScalar(aux.getFloat(), sig.get("aux_loss").toFloatArray()[0]);
        double rg = rel(q.getGradient(), sig.get("aux_grad.entropy_bottleneck.quantiles").toNDArray(m));
        report.append(String.format("aux_loss %.8g rel %.2g, aux grad rel %.2g%n", aux.getFloat(), ra, rg));
        worst = Math.max(worst, Math.max(ra, rg));
      }
      System.out.println("[RateDistortionLossParityTest] worst rel " + worst + "\n" + report);
      assertTrue(worst <= REL_TOL, "worst relative error " + worst + " > " + REL_TOL + "\n" + report);
    }
  }

  @Test
  void perceptualTermsNeedTheirNetworks() {
    assertThrows(IllegalArgumentException.class, () -> new RateDistortionLoss(0.0004, 3.5, null, 0, null));
    assertThrows(IllegalArgumentException.class, () -> new RateDistortionLoss(0.0004, 0, null, 0.0025, null));
  }
}
