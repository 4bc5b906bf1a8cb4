package ai.taco.cli;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.tensor.HostTensor;
import ai.taco.metrics.InceptionV3;
import ai.taco.metrics.Lpips;
import ai.taco.metrics.MsSsim;
import ai.taco.metrics.Psnr;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code taco bench-metrics}: throughput of the metrics on CPU for 768x512 images with random weights (speed does not
 * depend on the weight values). A benchmark command, not a test.
 */
@Command(
    name = "bench-metrics",
    mixinStandardHelpOptions = true,
    description = "Throughput of LPIPS, Inception (FID), MS-SSIM and PSNR on random 768x512 images, JSON on stdout.")
public final class BenchMetricsCommand implements TacoCommand {
  private static final Logger LOG = LoggerFactory.getLogger(BenchMetricsCommand.class);

  @Option(names = "--width", defaultValue = "768", description = "Image width (default ${DEFAULT-VALUE}).")
  int width;

  @Option(names = "--height", defaultValue = "512", description = "Image height (default ${DEFAULT-VALUE}).")
  int height;

  @Option(names = "--iterations", defaultValue = "5", description = "Timed runs per metric (default ${DEFAULT-VALUE}).")
  int iterations;

  @Option(names = "--batch-size", defaultValue = "4", description = "Batch size of the batched LPIPS and Inception runs (default ${DEFAULT-VALUE}).")
  int batchSize;

  @Override
  public Integer call() {
    Random rnd = new Random(1);
    int n = 3 * width * height;
    float[] a = new float[n];
    float[] b = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = rnd.nextFloat();
      b[i] = Math.min(1f, Math.max(0f, a[i] + 0.05f * (float) rnd.nextGaussian()));
    }
    ObjectNode out = new ObjectMapper().createObjectNode();
    out.put("width", width);
    out.put("height", height);
    out.put("iterations", iterations);
    out.put("engine", Engine.getInstance().getEngineName() + " " + Engine.getInstance().getVersion());
    out.put("cpus", Runtime.getRuntime().availableProcessors());
    out.put("psnr_images_per_s", rate(() -> Psnr.psnr(a, b)));
    out.put("ms_ssim_images_per_s", rate(() -> MsSsim.msSsim(a, b, 1, 3, height, width)));
    try (Lpips lpips = Lpips.fromStateDict(random(Lpips.stateDictShapes(), rnd));
        NDManager m = NDManager.newBaseManager()) {
      NDArray x0 = m.create(a, new Shape(1, 3, height, width));
      NDArray x1 = m.create(b, new Shape(1, 3, height, width));
      out.put("lpips_pairs_per_s", rate(() -> lpips.distance(x0, x1, Lpips.InputConvention.STANDARD)));
      NDArray b0 = x0.repeat(0, batchSize);
      NDArray b1 = x1.repeat(0, batchSize);
      out.put("lpips_batch_size", batchSize);
      out.put("lpips_pairs_per_s_batched",
          batchSize * rate(() -> lpips.distance(b0, b1, Lpips.InputConvention.STANDARD)));
    }
    try (InceptionV3 net = InceptionV3.fromStateDict(random(InceptionV3.stateDictShapes(), rnd));
        NDManager m = NDManager.newBaseManager()) {
      NDArray x = m.create(a, new Shape(1, 3, height, width)).repeat(0, batchSize);
      out.put("inception_batch_size", batchSize);
      out.put("inception_images_per_s", batchSize * rate(() -> net.featureArray(x)));
    }
    System.out.println(out.toPrettyString());
    return 0;
  }

  /** Runs per second: one warm-up, then the median of {@code iterations} timed runs. */
  private double rate(Runnable r) {
    r.run();
    double[] t = new double[Math.max(1, iterations)];
    for (int i = 0; i < t.length; i++) {
      long s = System.nanoTime();
      r.run();
      t[i] = (System.nanoTime() - s) / 1e9;
    }
    java.util.Arrays.sort(t);
    double median = t[t.length / 2];
    LOG.info("median {} s", median);
    return 1.0 / median;
  }

  /** Random weights of the right shapes (N(0, 0.05²), a typical conv scale); variances and scales kept positive. */
  private static Map<String, HostTensor> random(Map<String, long[]> shapes, Random rnd) {
    Map<String, HostTensor> sd = new LinkedHashMap<>();
    shapes.forEach((k, s) -> {
      long numel = 1;
      for (long d : s) {
        numel *= d;
      }
      float[] v = new float[Math.toIntExact(numel)];
      boolean positive = k.endsWith("running_var") || k.endsWith("scale");
      for (int i = 0; i < v.length; i++) {
        v[i] = positive ? 0.5f + rnd.nextFloat() : 0.05f * (float) rnd.nextGaussian();
      }
      sd.put(k, HostTensor.ofFloats(v, s));
    });
    return sd;
  }
}
