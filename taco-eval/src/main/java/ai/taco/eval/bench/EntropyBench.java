package ai.taco.eval.bench;

import ai.taco.entropy.CdfTables;
import ai.taco.entropy.QuantizedCdf;
import ai.taco.entropy.RansDecoder;
import ai.taco.entropy.RansEncoder;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.apache.commons.math3.special.Erf;

/**
 * Throughput and code length of the taco-entropy rANS coder on TACO-like workloads (the {@code bench-entropy}
 * command). Pure Java: no DJL.
 *
 * <p>The tables are built like CompressAI's {@code GaussianConditional.update()} for TACO's scale table, in double
 * precision (good enough for a benchmark; the codec's own tables are format constants loaded from files).
 */
public final class EntropyBench {
  /** TACO's scale table: {@code exp(linspace(ln 0.11, ln 256, 64))} (TACO utils/func.py get_scale_table). */
  static final double SCALE_MIN = 0.11;

  static final double SCALE_MAX = 256;
  static final int SCALE_LEVELS = 64;

  /** CompressAI's default tail mass of the Gaussian conditional (entropy_models.py, tail_mass=1e-9). */
  static final double TAIL_MASS = 1e-9;

  /** Entropy-coder precision of CompressAI (entropy_coder_precision=16). */
  static final int PRECISION = 16;

  private EntropyBench() {}

  /** The workload settings. */
  public record Settings(int symbols, int warmupRuns, int runs, long seed) {}

  /** TACO's Gaussian scale table. */
  static double[] scaleTable() {
    double[] t = new double[SCALE_LEVELS];
    double lo = Math.log(SCALE_MIN);
    double hi = Math.log(SCALE_MAX);
    for (int i = 0; i < SCALE_LEVELS; i++) {
      t[i] = Math.exp(lo + (hi - lo) * i / (SCALE_LEVELS - 1));
    }
    return t;
  }

  private static double phi(double x) {
    return 0.5 * Erf.erfc(-x / Math.sqrt(2));
  }

  /** The 64 Gaussian CDF tables, built as GaussianConditional.update() builds them. */
  public static CdfTables gaussianTables(double[] scales) {
    double multiplier = -new NormalDistribution().inverseCumulativeProbability(TAIL_MASS / 2);
    int[][] cdfs = new int[scales.length][];
    int[] offsets = new int[scales.length];
    for (int i = 0; i < scales.length; i++) {
      int center = (int) Math.ceil(scales[i] * multiplier);
      int length = 2 * center + 1;
      float[] prob = new float[length + 1];
      for (int j = 0; j < length; j++) {
        double a = Math.abs(j - center);
        prob[j] = (float) (phi((0.5 - a) / scales[i]) - phi((-0.5 - a) / scales[i]));
      }
      prob[length] = (float) (2 * phi((-0.5 - center) / scales[i])); // tail mass of both sides
      cdfs[i] = QuantizedCdf.fromPmf(prob, PRECISION);
      offsets[i] = -center;
    }
    return CdfTables.of(cdfs, offsets);
  }

  /** CompressAI's build_indexes: the number of the first 63 table scales below the (lower-bounded) scale. */
  static int index(double[] table, double scale) {
    double s = Math.max(scale, SCALE_MIN);
    int idx = 0;
    while (idx < table.length - 1 && table[idx] < s) {
      idx++;
    }
    return idx;
  }

  /** Symbols and their table indexes. */
  record Workload(String name, String description, int[] symbols, int[] indexes) {}

  /**
   * Latent-like symbols: true scale log-uniform in [minScale, maxScale], Gaussian or Laplacian noise (alternating),
   * mean ~ N(0, 5); the "predicted" mean and scale that pick the table are off by a little, as a trained model's are.
   * A fraction {@code farFraction} of the symbols is replaced by values far outside the tables (bypass coding).
   */
  static Workload latents(String name, String description, int n, double minScale, double maxScale,
      double farFraction, double[] table, SplittableRandom rnd) {
    int[] symbols = new int[n];
    int[] indexes = new int[n];
    double lo = Math.log(minScale);
    double hi = Math.log(maxScale);
    for (int i = 0; i < n; i++) {
      double sigma = Math.exp(lo + (hi - lo) * rnd.nextDouble());
      double mean = 5 * gauss(rnd);
      double noise = (i & 1) == 0 ? gauss(rnd) : laplace(rnd);
      double y = mean + sigma * noise;
      double predictedMean = mean + 0.1 * sigma * gauss(rnd);
      double predictedScale = sigma * Math.exp(0.15 * gauss(rnd));
      indexes[i] = index(table, predictedScale);
      symbols[i] = (int) Math.rint(y - predictedMean); // torch.round: half to even
      if (farFraction > 0 && rnd.nextDouble() < farFraction) {
        int magnitude = 1 << rnd.nextInt(23); // up to 2^22 beyond any table
        symbols[i] = (rnd.nextBoolean() ? 1 : -1) * (1600 + magnitude + rnd.nextInt(magnitude));
      }
    }
    return new Workload(name, description, symbols, indexes);
  }

  private static double gauss(SplittableRandom rnd) {
    // Box-Muller; a library normal sampler would need a commons-math RandomGenerator adapter for a seeded stream.
    double u = 1 - rnd.nextDouble();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd.nextDouble());
  }

  /** Laplacian noise with unit variance. */
  private static double laplace(SplittableRandom rnd) {
    double u = rnd.nextDouble() - 0.5;
    return -Math.signum(u) * Math.log(1 - 2 * Math.abs(u)) / Math.sqrt(2);
  }

  /**
   * Ideal code length in bits: -log2 p of each symbol's slot under the quantized CDF, plus, for bypass-coded symbols,
   * the 4-bit nibble count and nibbles of the raw value (the bypass code's own length). Returns {model bits, bypass
   * bits, bypass symbols}.
   */
  static double[] idealBits(Workload w, CdfTables tables) {
    double model = 0;
    double bypass = 0;
    long bypassSymbols = 0;
    int[][] cdfs = new int[tables.size()][];
    for (int t = 0; t < cdfs.length; t++) {
      cdfs[t] = tables.cdf(t);
    }
    for (int i = 0; i < w.symbols.length; i++) {
      int t = w.indexes[i];
      int[] cdf = cdfs[t];
      int max = cdf.length - 2;
      long v = (long) w.symbols[i] - tables.offset(t);
      int slot = v >= 0 && v < max ? (int) v : max;
      model -= Math.log((cdf[slot + 1] - cdf[slot]) / 65536.0) / Math.log(2);
      if (slot == max) {
        long raw = v < 0 ? -2 * v - 1 : 2 * (v - max);
        int nibbles = 0;
        while ((raw >>> (4 * nibbles)) != 0) {
          nibbles++;
        }
        bypass += 4 * (1 + nibbles);
        bypassSymbols++;
      }
    }
    return new double[] {model, bypass, bypassSymbols};
  }

  /** Runs every workload and returns the results as a JSON-ready map. */
  public static Map<String, Object> run(Settings s) {
    if (s.symbols() < 1 || s.runs() < 1 || s.warmupRuns() < 0) {
      throw new IllegalArgumentException("symbols and runs must be >= 1, warm-up runs >= 0");
    }
    double[] table = scaleTable();
    long t0 = System.nanoTime();
    CdfTables tables = gaussianTables(table);
    double tableMs = (System.nanoTime() - t0) / 1e6;
    SplittableRandom rnd = new SplittableRandom(s.seed());
    Workload[] workloads = {
      latents("gaussian-varied", "scales log-uniform 0.05..80, Gaussian/Laplacian, means N(0,5)", s.symbols(), 0.05,
          80, 0, table, rnd),
      latents("small-scales", "scales log-uniform 0.05..2 (most TACO latents): mostly zeros", s.symbols(), 0.05, 2,
          0, table, rnd),
      latents("bypass-heavy", "gaussian-varied with 10% of values up to 2^22 outside the tables", s.symbols(), 0.05,
          80, 0.10, table, rnd),
    };
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("benchmark", "bench-entropy");
    out.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    out.put("threads", 1);
    out.put("tables", "TACO Gaussian scale table, 64 CDFs, lengths " + tables.cdfLength(0) + ".."
        + tables.cdfLength(tables.size() - 1) + " (built in " + Math.round(tableMs) + " ms)");
    out.put("load_average_at_start", round2(ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));
    out.put("cpus", Runtime.getRuntime().availableProcessors());
    out.put("symbols_per_workload", s.symbols());
    out.put("warmup_runs", s.warmupRuns());
    out.put("runs", s.runs());
    Map<String, Object> results = new LinkedHashMap<>();
    for (Workload w : workloads) {
      results.put(w.name, measure(w, tables, s));
    }
    out.put("workloads", results);
    return out;
  }

  private static Map<String, Object> measure(Workload w, CdfTables tables, Settings s) {
    int n = w.symbols.length;
    byte[] bytes = RansEncoder.encode(w.symbols, w.indexes, tables);
    int[] decoded = new int[n];
    RansDecoder decoder = new RansDecoder();
    decoder.setStream(bytes);
    decoder.decodeStream(w.indexes, 0, n, tables, decoded, 0);
    if (!Arrays.equals(decoded, w.symbols) || !decoder.isComplete()) {
      throw new IllegalStateException("round trip failed on workload " + w.name);
    }
    // Wall-clock time is what the targets are about; the thread's CPU time is also recorded because this machine is
    // shared: under contention the wall clock also counts time the thread was not running.
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    boolean cpuTime = threads.isCurrentThreadCpuTimeSupported();
    long[] enc = new long[s.runs()];
    long[] dec = new long[s.runs()];
    long[] encCpu = new long[s.runs()];
    long[] decCpu = new long[s.runs()];
    long sink = 0;
    for (int r = -s.warmupRuns(); r < s.runs(); r++) {
      long ca = cpuTime ? threads.getCurrentThreadCpuTime() : 0;
      long a = System.nanoTime();
      byte[] b = RansEncoder.encode(w.symbols, w.indexes, tables);
      long m = System.nanoTime();
      long cm = cpuTime ? threads.getCurrentThreadCpuTime() : 0;
      decoder.setStream(b);
      decoder.decodeStream(w.indexes, 0, n, tables, decoded, 0);
      long e = System.nanoTime();
      long ce = cpuTime ? threads.getCurrentThreadCpuTime() : 0;
      sink += b.length + decoded[n - 1];
      if (r >= 0) {
        enc[r] = m - a;
        dec[r] = e - m;
        encCpu[r] = cm - ca;
        decCpu[r] = ce - cm;
      }
    }
    double[] ideal = idealBits(w, tables);
    double idealBits = ideal[0] + ideal[1];
    long actualBits = 8L * bytes.length;
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("description", w.description);
    r.put("symbols", n);
    r.put("bypass_symbols", (long) ideal[2]);
    r.put("encode_msym_per_s", round2(n / (median(enc) / 1e3)));
    r.put("decode_msym_per_s", round2(n / (median(dec) / 1e3)));
    r.put("encode_ms_median", round2(median(enc) / 1e6));
    r.put("decode_ms_median", round2(median(dec) / 1e6));
    r.put("encode_msym_per_s_best", round2(n / (Arrays.stream(enc).min().getAsLong() / 1e3)));
    r.put("decode_msym_per_s_best", round2(n / (Arrays.stream(dec).min().getAsLong() / 1e3)));
    if (cpuTime) {
      r.put("encode_msym_per_cpu_s", round2(n / (median(encCpu) / 1e3)));
      r.put("decode_msym_per_cpu_s", round2(n / (median(decCpu) / 1e3)));
    }
    r.put("bytes", bytes.length);
    r.put("ideal_bytes", round2(idealBits / 8));
    r.put("ideal_model_bits", Math.round(ideal[0]));
    r.put("ideal_bypass_bits", Math.round(ideal[1]));
    r.put("bits_per_symbol", round4((double) actualBits / n));
    r.put("size_over_ideal", round6(actualBits / idealBits));
    r.put("size_minus_flush_over_ideal", round6((actualBits - 64) / idealBits));
    r.put("within_target", actualBits <= idealBits * 1.001 + 64);
    r.put("check", sink == 0 ? 0 : 1); // keeps the timed work observable
    return r;
  }

  private static double median(long[] v) {
    long[] c = v.clone();
    Arrays.sort(c);
    return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2.0;
  }

  private static double round2(double v) {
    return Math.round(v * 100) / 100.0;
  }

  private static double round4(double v) {
    return Math.round(v * 1e4) / 1e4;
  }

  private static double round6(double v) {
    return Math.round(v * 1e6) / 1e6;
  }
}
