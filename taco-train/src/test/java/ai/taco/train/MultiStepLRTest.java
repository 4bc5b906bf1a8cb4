package ai.taco.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** MultiStepLR(milestones=[45,48], gamma=0.1) stepped once per epoch, as train.py does. */
class MultiStepLRTest {

  @Test
  void decaysAtMilestones() {
    try (NDManager m = NDManager.newBaseManager();
        TorchAdam adam = new TorchAdam(Map.of("w", m.zeros(new ai.djl.ndarray.types.Shape(1))), 1e-4)) {
      MultiStepLR s = new MultiStepLR(adam, new int[] {48, 45}, 0.1);
      double[] lrDuringEpoch = new double[50];
      for (int epoch = 0; epoch < 50; epoch++) {
        lrDuringEpoch[epoch] = adam.learningRate();
        s.step();
      }
      assertEquals(1e-4, lrDuringEpoch[0], 0);
      assertEquals(1e-4, lrDuringEpoch[44], 0);
      assertEquals(1e-5, lrDuringEpoch[45], 1e-18);
      assertEquals(1e-5, lrDuringEpoch[47], 1e-18);
      assertEquals(1e-6, lrDuringEpoch[48], 1e-19);
      assertEquals(1e-6, lrDuringEpoch[49], 1e-19);
      assertEquals(50, s.lastEpoch());
    }
  }
}
