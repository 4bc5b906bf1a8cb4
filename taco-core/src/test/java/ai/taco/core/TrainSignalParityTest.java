package ai.taco.core;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import ai.taco.core.io.HostTensor;
import ai.taco.core.io.StateDict;
import ai.taco.core.testing.Golden;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The training contract against the official gradients (taco-small train_signal): eval-mode forward of image 0, loss =
 * λ·255²·MSE + bpp, gradients of the 19 listed parameters within 1e-4 relative (max |Δ| / max |ref| per tensor); and
 * the EntropyBottleneck aux loss with its quantiles gradient.
 */
class TrainSignalParityTest {
  private static final double REL_TOL = 1e-4;

  @Test
  void gradientsMatchOfficial() {
    Map<String, HostTensor> sig = Golden.tensors("taco-small/train_signal.safetensors");
    Map<String, HostTensor> img = Golden.tensors("taco-small/img0_64x64.safetensors");
    try (NDManager m = NDManager.newBaseManager()) {
      TacoModel model =
          TacoModel.load(StateDict.load(Golden.golden("taco-small/weights.safetensors")), TacoConfig.SMALL, m);
      model.update();
      Map<String, NDArray> params = model.parameters();
      params.values().forEach(p -> p.setRequiresGradient(true));
      double lambda = sig.get("lambda").toDoubleArray()[0];
      StringBuilder report = new StringBuilder();
      double worst = 0;
      try (NDScope scope = new NDScope()) {
        NDArray x = img.get("x").toNDArray(m);
        NDArray loss;
        NDArray bpp;
        NDArray mse;
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
          ForwardResult r = model.forward(x, img.get("text_embeddings").toNDArray(m), false);
          double pixels = x.getShape().get(0) * x.getShape().get(2) * x.getShape().get(3);
          bpp = r.yLikelihoods().log().sum().add(r.zLikelihoods().log().sum()).div((float) (-Math.log(2) * pixels));
          mse = r.xHat().sub(x).square().mean();
          loss = mse.mul((float) (lambda * 255 * 255)).add(bpp);
          gc.backward(loss);
        }
        report.append(String.format("loss %.8g (ref %.8g), bpp %.8g (ref %.8g), mse %.8g (ref %.8g)%n",
            loss.getFloat(), sig.get("loss").toFloatArray()[0], bpp.getFloat(), sig.get("bpp_loss").toFloatArray()[0],
            mse.getFloat(), sig.get("mse_loss").toFloatArray()[0]));
        worst = Math.max(worst, relScalar(loss.getFloat(), sig.get("loss").toFloatArray()[0]));
        for (String key : sig.keySet()) {
          if (!key.startsWith("grad.")) {
            continue;
          }
          String name = key.substring("grad.".length());
          NDArray g = params.get(name).getGradient();
          double rel = rel(g, sig.get(key).toNDArray(m));
          report.append(String.format("  %s rel %.3g%n", name, rel));
          worst = Math.max(worst, rel);
        }
      }
      // aux loss: gradients zeroed first, as the golden run did.
      try (NDScope scope = new NDScope()) {
        NDArray q = params.get("entropy_bottleneck.quantiles");
        q.getGradient().subi(q.getGradient());
        NDArray aux;
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
          aux = model.auxLoss();
          gc.backward(aux);
        }
        double relAux = relScalar(aux.getFloat(), sig.get("aux_loss").toFloatArray()[0]);
        double relAuxGrad = rel(q.getGradient(), sig.get("aux_grad.entropy_bottleneck.quantiles").toNDArray(m));
        report.append(String.format("  aux_loss rel %.3g, aux grad quantiles rel %.3g%n", relAux, relAuxGrad));
        worst = Math.max(worst, Math.max(relAux, relAuxGrad));
      }
      System.out.println("[TrainSignalParityTest] worst rel " + worst + "\n" + report);
      assertTrue(worst < REL_TOL, report.toString());
    }
  }

  private static double relScalar(double a, double b) {
    return Math.abs(a - b) / Math.abs(b);
  }

  /** max |a - b| / max |b|. */
  private static double rel(NDArray a, NDArray b) {
    double scale = b.abs().max().toType(DataType.FLOAT64, false).getDouble();
    return a.sub(b).abs().max().toType(DataType.FLOAT64, false).getDouble() / scale;
  }
}
