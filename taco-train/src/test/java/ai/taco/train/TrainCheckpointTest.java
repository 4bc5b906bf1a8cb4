package ai.taco.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.error.WeightsException;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Optimizer state survives a checkpoint round trip bit for bit: continuing after a reload equals not stopping. */
class TrainCheckpointTest {

  static Map<String, NDArray> params(NDManager m, long seed) {
    Random r = new Random(seed);
    Map<String, NDArray> p = new LinkedHashMap<>();
    for (String name : List.of("a.weight", "b.bias", "entropy_bottleneck.quantiles")) {
      float[] v = new float[12];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) r.nextGaussian();
      }
      p.put(name, m.create(v, new Shape(3, 4)));
    }
    return p;
  }

  static Map<String, NDArray> grads(NDManager m, int step) {
    Random r = new Random(100 + step);
    Map<String, NDArray> g = new LinkedHashMap<>();
    for (String name : List.of("a.weight", "b.bias", "entropy_bottleneck.quantiles")) {
      float[] v = new float[12];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) r.nextGaussian();
      }
      g.put(name, m.create(v, new Shape(3, 4)));
    }
    return g;
  }

  static Map<String, NDArray> select(Map<String, NDArray> all, boolean aux) {
    Map<String, NDArray> out = new LinkedHashMap<>();
    all.forEach((k, v) -> {
      if (k.endsWith(".quantiles") == aux) {
        out.put(k, v);
      }
    });
    return out;
  }

  @Test
  void resumeEqualsUninterrupted(@TempDir Path dir) throws IOException {
    try (NDManager m = NDManager.newBaseManager()) {
      Map<String, NDArray> straight = params(m, 1);
      Map<String, NDArray> first = params(m, 1);
      Path file = dir.resolve("ck.safetensors");
      try (TorchAdam a = new TorchAdam(select(straight, false), 1e-2);
          TorchAdam ax = new TorchAdam(select(straight, true), 1e-3)) {
        MultiStepLR s = new MultiStepLR(a, new int[] {2}, 0.1);
        for (int step = 0; step < 5; step++) {
          a.step(select(grads(m, step), false));
          ax.step(select(grads(m, step), true));
          s.step();
        }
      }
      try (TorchAdam a = new TorchAdam(select(first, false), 1e-2);
          TorchAdam ax = new TorchAdam(select(first, true), 1e-3)) {
        MultiStepLR s = new MultiStepLR(a, new int[] {2}, 0.1);
        for (int step = 0; step < 2; step++) {
          a.step(select(grads(m, step), false));
          ax.step(select(grads(m, step), true));
          s.step();
        }
        Map<String, HostTensor> model = new LinkedHashMap<>();
        first.forEach((k, v) -> model.put(k, HostTensor.fromNDArray(v)));
        new TrainCheckpoint(
                model,
                TrainCheckpoint.OptimizerState.of(a),
                TrainCheckpoint.OptimizerState.of(ax),
                s.lastEpoch(),
                new TrainCheckpoint.Progress(2, 0, 2, 77),
                TrainCheckpoint.BestMetrics.initial(),
                Map.of("preset", "test"))
            .write(file);
      }
      try (Stream<Path> files = Files.list(dir)) {
        assertEquals(List.of(file), files.toList(), "no temp file left behind");
      }
      TrainCheckpoint ck = TrainCheckpoint.read(file);
      assertEquals(new TrainCheckpoint.Progress(2, 0, 2, 77), ck.progress());
      assertEquals(Double.POSITIVE_INFINITY, ck.best().bpp());
      assertEquals("test", ck.info().get("preset"));
      Map<String, NDArray> resumed = new LinkedHashMap<>();
      ck.model().forEach((k, v) -> resumed.put(k, v.toNDArray(m)));
      try (TorchAdam a = new TorchAdam(select(resumed, false), 1e-2);
          TorchAdam ax = new TorchAdam(select(resumed, true), 1e-3)) {
        ck.optimizer().restore(a, m);
        ck.auxOptimizer().restore(ax, m);
        MultiStepLR s = new MultiStepLR(a, new int[] {2}, 0.1);
        s.setLastEpoch(ck.schedulerLastEpoch());
        assertEquals(1e-3, a.learningRate(), 1e-18);
        for (int step = 2; step < 5; step++) {
          a.step(select(grads(m, step), false));
          ax.step(select(grads(m, step), true));
          s.step();
        }
        assertEquals(5, a.state().get("a.weight").step());
      }
      for (String k : straight.keySet()) {
        assertArrayEquals(straight.get(k).toFloatArray(), resumed.get(k).toFloatArray(), k);
      }
    }
  }

  @Test
  void foreignOrDamagedFilesAreRejected(@TempDir Path dir) throws IOException {
    Path plain = dir.resolve("plain.safetensors");
    SafeTensors.write(plain, Map.of("w", HostTensor.ofFloats(new float[] {1f}, 1)), Map.of());
    WeightsException e = assertThrows(WeightsException.class, () -> TrainCheckpoint.read(plain));
    assertEquals(true, e.getMessage().contains("not a TACO-J training checkpoint"), e.getMessage());
    Path junk = dir.resolve("junk.safetensors");
    Files.write(junk, new byte[] {1, 2, 3});
    assertThrows(ai.taco.core.error.TacoException.class, () -> TrainCheckpoint.read(junk));
  }
}
