package ai.taco.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.tensor.Precision;
import ai.taco.core.nn.ReducedPrecision;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;

/** The roofline half of {@code taco bench}: a measured fp32 matmul peak, and per-step MACs beside measured times. */
final class Roofline {
  /** A 2048² fp32 matmul: large enough to run at the machine's matmul peak, small enough to time in a second. */
  private static final int MATMUL_SIZE = 2048;
  private static final int MATMUL_RUNS = 5;

  private Roofline() {}

  /** Best of {@link #MATMUL_RUNS} timed 2048² fp32 matmuls (after one warm-up), in GFLOP/s (2 FLOPs per MAC). */
  static double matmulPeakGflops() {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray a = m.randomUniform(0, 1, new Shape(MATMUL_SIZE, MATMUL_SIZE));
      NDArray b = m.randomUniform(0, 1, new Shape(MATMUL_SIZE, MATMUL_SIZE));
      a.matMul(b).close();
      double best = Double.MAX_VALUE;
      for (int i = 0; i < MATMUL_RUNS; i++) {
        long t0 = System.nanoTime();
        NDArray c = a.matMul(b);
        c.getFloat(0, 0); // forces completion on lazy engines
        best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        c.close();
      }
      return 2.0 * MATMUL_SIZE * MATMUL_SIZE * (double) MATMUL_SIZE / best / 1e9;
    }
  }

  /**
   * A 3×3 192→192 convolution on a 128×192 channels-last map (the shape of gA's and gS's 1/4-resolution layers),
   * computed in {@code precision} as gA/gS compute it ({@link ReducedPrecision#conv2d}): best of {@link #MATMUL_RUNS}
   * after one warm-up, GFLOP/s (2 FLOPs per MAC). The attainable convolution rate to hold gA/gS's rates against.
   */
  static double convPeakGflops(Precision precision) {
    int c = 192;
    int h = 128;
    int w = 192;
    try (NDManager m = NDManager.newBaseManager();
        ReducedPrecision.Scope s = ReducedPrecision.request(precision)) {
      NDArray x = m.randomUniform(0, 1, new Shape(1, h, w, c)).transpose(0, 3, 1, 2); // channels-last storage
      NDArray k = m.randomUniform(-0.05f, 0.05f, new Shape(c, c, 3, 3));
      NDArray b = m.zeros(new Shape(c));
      Shape one = new Shape(1, 1);
      return ReducedPrecision.transform(() -> {
        ReducedPrecision.conv2d(x, k, b, one, one, one, 1).close();
        double best = Double.MAX_VALUE;
        for (int i = 0; i < MATMUL_RUNS; i++) {
          long t0 = System.nanoTime();
          NDArray y = ReducedPrecision.conv2d(x, k, b, one, one, one, 1);
          y.getFloat(0, 0, 0, 0);
          best = Math.min(best, (System.nanoTime() - t0) / 1e9);
          y.close();
        }
        return 2.0 * c * c * 9 * h * w / best / 1e9;
      });
    }
  }

  /** {step: {seconds, gmac, gflops}} from the median step times and the step MACs. */
  static ObjectNode layers(ObjectMapper json, Map<String, List<Double>> seconds, Map<String, Double> macs) {
    ObjectNode out = json.createObjectNode();
    seconds.forEach((name, v) -> {
      double s = BenchCodecCommand.median(v);
      ObjectNode o = out.putObject(name);
      o.put("seconds", s);
      Double mac = macs.get(name);
      if (mac != null) {
        o.put("gmac", mac / 1e9);
        o.put("gflops", 2 * mac / 1e9 / s);
      }
    });
    return out;
  }
}
