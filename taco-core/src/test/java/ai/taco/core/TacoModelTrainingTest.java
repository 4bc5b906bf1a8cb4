package ai.taco.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Training-mode forward (golden small weights, so no parameter is trivially inert): STE reconstruction, noisy
 * likelihoods, a finite gradient for every parameter. A fresh tiny model runs it too.
 */
class TacoModelTrainingTest {

  @Test
  void trainingForwardIsDifferentiableEverywhere() {
    try (NDManager m = NDManager.newBaseManager()) {
      TacoModel tiny = TacoModel.create(TacoConfig.TINY, m, 11);
      assertEquals(TacoModel.networkShapes(TacoConfig.TINY).size() + 15, tiny.parameters().size());
      try (NDScope scope = new NDScope()) {
        ForwardResult r = tiny.forward(m.randomUniform(0f, 1f, new Shape(2, 3, 64, 128)),
            m.randomNormal(new Shape(2, 38, 512)), true);
        assertArrayEquals(new long[] {2, 3, 64, 128}, r.xHat().getShape().getShape());
        assertArrayEquals(new long[] {2, 32, 4, 8}, r.yLikelihoods().getShape().getShape());
        assertArrayEquals(new long[] {2, 16, 1, 2}, r.zLikelihoods().getShape().getShape());
      }
      TacoModel model = TacoModel.load(
          ai.taco.core.weights.StateDict.load(ai.taco.core.testing.Golden.tacoSmallWeights()),
          TacoConfig.SMALL, m);
      Map<String, NDArray> params = model.parameters();
      params.values().forEach(p -> p.setRequiresGradient(true));
      try (NDScope scope = new NDScope()) {
        NDArray x = m.randomUniform(0f, 1f, new Shape(2, 3, 64, 128));
        NDArray text = m.randomNormal(new Shape(2, 38, 512)).mul(0.5f);
        ForwardResult eval = model.forward(x, text, false);
        ForwardResult train;
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
          train = model.forward(x, text, true);
          NDArray bpp = train.yLikelihoods().log().sum().add(train.zLikelihoods().log().sum())
              .div((float) (-Math.log(2) * 2 * 64 * 128));
          NDArray loss = train.xHat().sub(x).square().mean().mul(0.0130f * 255 * 255).add(bpp);
          gc.backward(loss);
        }
        // The reconstruction uses STE rounding in both modes (same values); the likelihoods use noise in training.
        assertArrayEquals(eval.xHat().toFloatArray(), train.xHat().toFloatArray(), 1e-5f);
        assertFalse(java.util.Arrays.equals(eval.yLikelihoods().toFloatArray(), train.yLikelihoods().toFloatArray()));
        List<String> noGradient = new ArrayList<>();
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
          float[] g = e.getValue().getGradient().toFloatArray();
          boolean any = false;
          for (float v : g) {
            assertTrue(Float.isFinite(v), e.getKey());
            any |= v != 0;
          }
          if (!any) {
            noGradient.add(e.getKey());
          }
        }
        // quantiles are fitted by the aux loss only: noisy z ignores the medians, and the STE's median terms cancel.
        noGradient.remove("entropy_bottleneck.quantiles");
        assertTrue(noGradient.isEmpty(), "no gradient: " + noGradient);
      }
    }
  }
}
