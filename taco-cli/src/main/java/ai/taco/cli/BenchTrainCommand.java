package ai.taco.cli;

import ai.taco.core.CaptionEncoder;
import ai.taco.core.TacoConfig;
import ai.taco.train.RateDistortionLoss;
import ai.taco.train.TrainOptions;
import ai.taco.train.Trainer;
import ai.taco.train.data.ImageTextBatch;
import ai.taco.train.data.CaptionedImage;
import ai.taco.train.data.CaptionedDataset;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code taco bench-train}: training throughput (images/s) of full optimizer steps (forward, loss, backward, clipping,
 * Adam, aux step) on random images, per preset. A benchmark, not a test; results go to stdout as JSON.
 */
@Command(
    name = "bench-train",
    mixinStandardHelpOptions = true,
    description = "Training throughput (images/s) per preset on random images (k_P = k_J = 0).")
public final class BenchTrainCommand implements TacoCommand {

  @Option(names = "--presets", split = ",", defaultValue = "tiny,small,full", description = "default: ${DEFAULT-VALUE}")
  List<String> presets;

  @Option(names = "--batch-size", defaultValue = "4", description = "default: ${DEFAULT-VALUE}")
  int batchSize;

  @Option(names = "--patch-size", arity = "2", description = "crop H W (default: 256 256)")
  int[] patch = {256, 256};

  @Option(names = "--steps", defaultValue = "5", description = "timed steps per preset (default: ${DEFAULT-VALUE})")
  int steps;

  @Option(names = "--warmup", defaultValue = "1", description = "untimed steps first (default: ${DEFAULT-VALUE})")
  int warmup;

  @Override
  public Integer call() throws Exception {
    Map<String, Object> results = new LinkedHashMap<>();
    results.put("batch_size", batchSize);
    results.put("patch", patch[0] + "x" + patch[1]);
    results.put("threads", System.getProperty("ai.djl.pytorch.num_threads", "default"));
    results.put("cores", Runtime.getRuntime().availableProcessors());
    Path tmp = Files.createTempDirectory("taco-bench-train");
    // The dataset is only used for its size; batches are synthetic.
    CaptionedDataset dummy = new CaptionedDataset(List.of(new CaptionedImage(tmp, List.of())), "synthetic", false);
    for (String preset : presets) {
      TacoConfig config = TacoConfig.preset(preset);
      TrainOptions o = TrainOptions.defaults(preset, tmp.resolve(preset))
          .withCoefficients(0, 0)
          .withBatch(batchSize, patch[0], patch[1]);
      SplittableRandom rng = new SplittableRandom(1);
      float[] pixels = new float[batchSize * 3 * patch[0] * patch[1]];
      for (int i = 0; i < pixels.length; i++) {
        pixels[i] = (float) rng.nextDouble();
      }
      ImageTextBatch b = new ImageTextBatch(0, batchSize, pixels, batchSize, patch[0], patch[1],
          Collections.nCopies(batchSize, "x"), Collections.nCopies(batchSize, ""));
      List<Double> seconds = new ArrayList<>();
      List<Double> cpuSeconds = new ArrayList<>();
      java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
      try (Trainer t = new Trainer(o, dummy, CaptionEncoder.zeros(config.textDim()),
          RateDistortionLoss.rateDistortionOnly(o.lambda()), null, null)) {
        for (int i = 0; i < warmup + steps; i++) {
          long t0 = System.nanoTime();
          long c0 = mx.getCurrentThreadCpuTime();
          t.step(b, 0);
          if (i >= warmup) {
            seconds.add((System.nanoTime() - t0) / 1e9);
            cpuSeconds.add((mx.getCurrentThreadCpuTime() - c0) / 1e9);
          }
        }
      }
      List<Double> sorted = new ArrayList<>(seconds);
      Collections.sort(sorted);
      double median = sorted.get(sorted.size() / 2);
      List<Double> sortedCpu = new ArrayList<>(cpuSeconds);
      Collections.sort(sortedCpu);
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("median_step_seconds", median);
      r.put("images_per_second", batchSize / median);
      // With TACO_THREADS=1 libtorch computes on the calling thread, so this is the step's CPU cost whatever the
      // machine's load; with more threads it only counts the calling thread's share.
      r.put("median_step_main_thread_cpu_seconds", sortedCpu.get(sortedCpu.size() / 2));
      r.put("step_seconds", seconds);
      r.put("step_main_thread_cpu_seconds", cpuSeconds);
      results.put(preset, r);
      System.err.printf("%s: %.3f s/step, %.3f images/s%n", preset, median, batchSize / median);
    }
    System.out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(results));
    return 0;
  }
}
