package ai.taco.train;

import ai.taco.core.CaptionEncoder;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.train.data.CaptionedDataset;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The training loop on the tiny preset: exact resume, and no growth of native memory across steps. */
class TrainerTest {

  static TrainOptions tiny(Path out, long maxSteps) {
    return TrainOptions.defaults("tiny", out)
        .withCoefficients(0, 0)
        .withBatch(2, 64, 64)
        .withSteps(3, maxSteps)
        .withSeed(11);
  }

  static Trainer trainer(TrainOptions o, CaptionedDataset ds, TrainCheckpoint resume) {
    return new Trainer(o, ds, CaptionEncoder.zeros(o.config().textDim()),
        RateDistortionLoss.rateDistortionOnly(o.lambda()), null, resume);
  }

  static TrainerListener recorder(List<String> events) {
    return new TrainerListener() {
      Path out;

      @Override
      public void onStart(RunStart start) {
        out = start.options().out();
        events.add("start at " + start.resumedAtStep() + " of " + start.totalSteps());
      }

      @Override
      public void onStep(Trainer.StepMetrics metrics, int images) {
        events.add("step " + metrics.step());
      }

      @Override
      public void onEpochEnd(EpochEnd end) {
        events.add("epoch " + end.epoch());
      }

      @Override
      public void onStoppedMidEpoch(int epoch, long step) {
        events.add("stopped in epoch " + epoch + " at " + step
            + (Files.isRegularFile(out.resolve(Trainer.RECENT)) ? " (checkpoint written)" : ""));
      }

      @Override
      public void onFinish() {
        events.add("finish");
      }
    };
  }

  @Test
  void resumedRunEqualsUninterrupted(@TempDir Path dir) {
    CaptionedDataset ds = CaptionedDataset.open(Golden.data("train-sample/coco"), null);
    Map<String, HostTensor> straight;
    List<Trainer.StepMetrics> straightHistory;
    try (Trainer t = trainer(tiny(dir.resolve("a"), 4), ds, null)) {
      straightHistory = t.run().history();
      straight = t.model().stateDict();
    }
    List<String> events = new ArrayList<>();
    try (Trainer t = trainer(tiny(dir.resolve("b"), 2), ds, null)) {
      assertEquals(2, t.addListener(recorder(events)).run().steps());
    }
    // An added listener sees the run after the standard ones (the checkpoint exists when it hears of the stop).
    assertEquals(List.of("start at 0 of 2", "step 1", "step 2", "stopped in epoch 0 at 2 (checkpoint written)",
        "finish"), events);
    Path ck = dir.resolve("b").resolve(Trainer.RECENT);
    assertTrue(Files.isRegularFile(ck));
    TrainCheckpoint c = TrainCheckpoint.read(ck);
    assertEquals(2, c.progress().step());
    assertEquals(4, c.progress().position()); // two batches of two images consumed
    Map<String, HostTensor> resumed;
    List<Trainer.StepMetrics> resumedHistory;
    try (Trainer t = trainer(tiny(dir.resolve("b"), 4), ds, c)) {
      resumedHistory = t.run().history();
      resumed = t.model().stateDict();
    }
    assertEquals(2, resumedHistory.size());
    for (int i = 0; i < 2; i++) {
      assertEquals(straightHistory.get(2 + i).loss(), resumedHistory.get(i).loss(), 0.0, "loss of step " + (3 + i));
    }
    assertEquals(straight.keySet(), resumed.keySet());
    for (String k : straight.keySet()) {
      if (straight.get(k).numel() > 0) {
        assertArrayEquals(straight.get(k).toFloatArray(), resumed.get(k).toFloatArray(), 0f, k);
      }
    }
  }

  @Test
  void nativeMemoryIsSteadyAcrossSteps(@TempDir Path dir) throws Exception {
    CaptionedDataset ds = CaptionedDataset.open(Golden.data("train-sample/bsds500/train"), null);
    try (Trainer t = trainer(tiny(dir, 0), ds, null);
        ai.taco.train.data.Loader loader = new ai.taco.train.data.Loader(ds,
            new ai.taco.train.data.Loader.Options(new ai.taco.train.data.RandomCrop(64, 64), 2, 1, 1, 1))) {
      var it = loader.epoch(0, 0);
      long[] counts = new long[6];
      for (int i = 0; i < counts.length; i++) {
        t.step(it.next(), 0);
        counts[i] = countArrays(t.manager());
      }
      // Step 1 creates the optimizer moments and gradients; from then on nothing may accumulate.
      for (int i = 2; i < counts.length; i++) {
        assertEquals(counts[1], counts[i], "arrays alive after each step: " + java.util.Arrays.toString(counts));
      }
    }
  }

  @Test
  void nonFiniteStepIsSkippedNotApplied(@TempDir Path dir) {
    CaptionedDataset ds = CaptionedDataset.open(Golden.data("train-sample/bsds500/train"), null);
    try (Trainer t = trainer(tiny(dir, 0), ds, null)) {
      float[] px = new float[2 * 3 * 64 * 64];
      java.util.Arrays.fill(px, 0.5f);
      px[7] = Float.NaN;
      ai.taco.train.data.ImageTextBatch bad =
          new ai.taco.train.data.ImageTextBatch(0, 2, px, 2, 64, 64, List.of("a", "b"), List.of("", ""));
      Map<String, HostTensor> before = t.model().stateDict();
      Trainer.StepMetrics m = t.step(bad, 0);
      assertTrue(Double.isNaN(m.gradNorm()), "NaN input must give a NaN gradient norm: " + m);
      Map<String, HostTensor> after = t.model().stateDict();
      for (String k : before.keySet()) {
        if (before.get(k).numel() > 0) {
          assertArrayEquals(before.get(k).toFloatArray(), after.get(k).toFloatArray(), 0f, k);
        }
      }
    }
  }

  /** NDArrays alive in a manager and its sub-managers (DJL keeps them in the protected 'resources' map). */
  static long countArrays(NDManager m) throws Exception {
    Field f = BaseNDManager.class.getDeclaredField("resources");
    f.setAccessible(true);
    long n = 0;
    for (Object r : ((Map<?, ?>) f.get(m)).values()) {
      if (r instanceof NDArray) {
        n++;
      } else if (r instanceof NDManager sub) {
        n += countArrays(sub);
      }
    }
    return n;
  }
}
