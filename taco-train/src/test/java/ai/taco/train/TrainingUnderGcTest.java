package ai.taco.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.taco.core.testing.Golden;
import ai.taco.train.data.Dataset;
import ai.taco.train.data.Loader;
import ai.taco.train.data.RandomCrop;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training steps must give finite gradients however the JVM's garbage collector runs. A background thread calls
 * System.gc() every 20 ms during 20 tiny-preset steps; every step must have a finite loss and gradient norm.
 *
 * <p>Disabled while taco-core's networks use {@code NDArray.mul/div(Number)} on autograd paths (CrossAttention's
 * 1/sqrt(d) factor, GaussianConditional's CDF): DJL frees those scalars' memory on GC, so backward reads freed memory
 * (see {@link Scalars}; ScalarsTest shows the mechanism). Measured 2026-11-26: 8 of 20 steps had NaN/Inf gradients.
 * Enable once those call sites use libtorch-owned scalars.
 */
class TrainingUnderGcTest {

  @Test
  @Disabled("taco-core scalar ops on autograd paths are GC-unsafe (DJL from_blob); see class comment")
  void gradientsStayFiniteUnderGarbageCollection(@TempDir Path dir) throws Exception {
    Dataset ds = Dataset.open(Golden.data("train-sample/coco"), null);
    Thread gc = new Thread(() -> {
      while (!Thread.currentThread().isInterrupted()) {
        System.gc();
        try {
          Thread.sleep(20);
        } catch (InterruptedException e) {
          return;
        }
      }
    });
    gc.setDaemon(true);
    gc.start();
    List<Trainer.StepMetrics> bad = new ArrayList<>();
    try (Trainer t = TrainerTest.trainer(TrainerTest.tiny(dir, 0), ds, null);
        Loader loader = new Loader(ds, new Loader.Options(new RandomCrop(64, 64), 2, 11, 1, 1))) {
      var it = loader.epoch(0, 0);
      for (int i = 0; i < 20; i++) {
        Trainer.StepMetrics m = t.step(it.next(), 0);
        if (!Double.isFinite(m.gradNorm()) || !Double.isFinite(m.loss())) {
          bad.add(m);
        }
      }
    } finally {
      gc.interrupt();
    }
    assertEquals(List.of(), bad, "steps with non-finite loss or gradients under GC");
  }
}
