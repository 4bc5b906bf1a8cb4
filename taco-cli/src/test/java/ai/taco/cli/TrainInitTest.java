package ai.taco.cli;

import static ai.taco.cli.CliTesting.taco;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.taco.core.TacoConfig;
import ai.taco.core.TacoModel;
import ai.taco.cli.CliTesting.Run;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.SafeTensors;
import ai.taco.train.TrainCheckpoint;
import ai.taco.train.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code taco train --init [--freeze-base]}: the paper's Appendix C ablation (train the text adapter only). */
class TrainInitTest {

  /**
   * The text adapter in the official layout: the Injector at gA index 8 and 15, the Extractor at 14 (official
   * models/taco.py; the same indices in every preset).
   */
  private static final Pattern ADAPTER = Pattern.compile("g_a\\.analysis_transform\\.(8|14|15)\\..*");

  /** Tiny-preset weights of another seed than the training run's, written as an official safetensors file. */
  private static Map<String, HostTensor> writeInit(Path file) throws Exception {
    Map<String, HostTensor> w;
    try (NDManager m = NDManager.newBaseManager()) {
      w = new LinkedHashMap<>(TacoModel.create(TacoConfig.TINY, m, 1234).stateDict());
    }
    SafeTensors.write(file, w, Map.of());
    return w;
  }

  private static Map<String, HostTensor> trained(Path out) {
    return TrainCheckpoint.read(out.resolve(Trainer.RECENT)).model();
  }

  @Test
  void freezeBaseTrainsTheAdapterOnly(@TempDir Path dir) throws Exception {
    Path w = dir.resolve("init.safetensors");
    Map<String, HostTensor> init = writeInit(w);
    // Every text_* tensor lies in the adapter modules, so the pattern is the whole adapter.
    init.keySet().stream().filter(k -> k.contains(".text_"))
        .forEach(k -> assertTrue(ADAPTER.matcher(k).matches(), k));
    Path out = dir.resolve("run");
    Run r = taco(TrainCommandTest.trainArgs(out, "--init", w.toString(), "--freeze-base", "--max-steps", "3"));
    assertEquals(0, r.code(), r.err());
    Map<String, HostTensor> after = trained(out);
    assertEquals(init.keySet(), after.keySet());
    List<String> adapterChanged = new ArrayList<>();
    int base = 0;
    for (String k : init.keySet()) {
      byte[] before = init.get(k).toByteArray();
      byte[] now = after.get(k).toByteArray();
      if (ADAPTER.matcher(k).matches()) {
        if (!java.util.Arrays.equals(before, now)) {
          adapterChanged.add(k);
        }
      } else {
        // Parameters and buffers, the entropy bottleneck's quantiles included: bit for bit.
        assertArrayEquals(before, now, k);
        base++;
      }
    }
    assertTrue(base > 100, "base tensors compared: " + base);
    assertFalse(adapterChanged.isEmpty(), "no adapter tensor changed in 3 steps");
    // A resume of that run stays frozen (the checkpoint says so).
    Path ck = out.resolve(Trainer.RECENT);
    r = taco(TrainCommandTest.trainArgs(out, "--checkpoint", ck.toString(), "--max-steps", "4"));
    assertEquals(0, r.code(), r.err());
    Map<String, HostTensor> resumed = trained(out);
    for (String k : init.keySet()) {
      if (!ADAPTER.matcher(k).matches()) {
        assertArrayEquals(init.get(k).toByteArray(), resumed.get(k).toByteArray(), "after resume: " + k);
      }
    }
  }

  @Test
  void initWithoutFreezeFineTunesEverythingFromTheGivenWeights(@TempDir Path dir) throws Exception {
    Path w = dir.resolve("init.safetensors");
    Map<String, HostTensor> init = writeInit(w);
    Path out = dir.resolve("run");
    Run r = taco(TrainCommandTest.trainArgs(out, "--init", w.toString(), "--max-steps", "2"));
    assertEquals(0, r.code(), r.err());
    Map<String, HostTensor> after = trained(out);
    int baseChanged = 0;
    for (String k : List.of("g_a.analysis_transform.0.weight", "g_s.synthesis_transform.0.conv_a.0.conv.0.weight",
        "entropy_bottleneck.quantiles")) {
      float[] a = init.get(k).toFloatArray();
      float[] b = after.get(k).toFloatArray();
      double maxDiff = 0;
      for (int i = 0; i < a.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
      }
      // Started from these weights: Adam moves each element by at most about lr per step (1e-4 main, 1e-3 aux),
      // far less than the distance to the random init of --seed 5.
      assertTrue(maxDiff < 3e-3, k + " moved " + maxDiff);
      if (maxDiff > 0) {
        baseChanged++;
      }
    }
    assertEquals(3, baseChanged, "without --freeze-base the base and the quantiles train");
  }

  @Test
  void mismatchedInitAndConflictingFlagsAreRefused(@TempDir Path dir) throws Exception {
    Path w = dir.resolve("init.safetensors");
    Map<String, HostTensor> init = writeInit(w);
    Path out = dir.resolve("run");
    Run r = taco(TrainCommandTest.trainArgs(out, "--init", w.toString(), "--checkpoint", w.toString()));
    assertEquals(2, r.code());
    assertTrue(r.err().contains("--init") && r.err().contains("--checkpoint"), r.err());
    r = taco(TrainCommandTest.trainArgs(out, "--freeze-base"));
    assertEquals(2, r.code());
    assertTrue(r.err().contains("--freeze-base needs --init"), r.err());

    Map<String, HostTensor> broken = new LinkedHashMap<>(init);
    broken.remove("g_a.analysis_transform.8.gamma");
    Path b = dir.resolve("broken.safetensors");
    SafeTensors.write(b, broken, Map.of());
    r = taco(TrainCommandTest.trainArgs(out, "--init", b.toString(), "--max-steps", "1"));
    assertNotEquals(0, r.code());
    assertTrue(r.err().contains("initial weights " + b) && r.err().contains("g_a.analysis_transform.8.gamma"),
        r.err());
    // Weights of another architecture: the tiny file for the small preset.
    String[] small = TrainCommandTest.trainArgs(out, "--init", w.toString(), "--max-steps", "1");
    small[java.util.Arrays.asList(small).indexOf("tiny")] = "small";
    r = taco(small);
    assertNotEquals(0, r.code());
    assertTrue(r.err().contains("initial weights") && r.err().contains("small preset"), r.err());
    assertFalse(Files.exists(out.resolve(Trainer.RECENT)));
  }
}
