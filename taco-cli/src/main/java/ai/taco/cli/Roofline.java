package ai.taco.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
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
