package ai.taco.eval.cli;

import ai.taco.core.DecodeOptions;
import ai.taco.core.EncodeOptions;
import ai.taco.core.StageListener;
import ai.taco.core.TacoCodec;
import ai.taco.core.TacoConfig;
import ai.taco.core.io.HostTensor;
import ai.taco.core.io.Images;
import ai.taco.core.io.CodedImage;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code taco bench}: codec wall time by stage and peak memory, on random weights (timing only). */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description =
        "Times TACO encode and decode of one image with randomly initialised weights (or --weights): median wall time"
            + " (and process CPU time) over --runs after --warmup, split by stage (gA, hyper = hA + z coding + hS, context = context models +"
            + " y entropy coding, gS), and the process's peak RSS; with --layers also by gA / gS step. Prints JSON on stdout."
            + " Set TACO_THREADS for libtorch's intra-op threads.")
public final class BenchCodecCommand implements TacoCommand {
  @Option(names = "--preset", defaultValue = "full", description = "full (default), small or tiny.")
  String preset;

  @Option(names = "--image", required = true, paramLabel = "IMG", description = "Image to code.")
  Path image;

  @Option(names = "--weights", paramLabel = "W", description = "Weights (default: random, seed 1).")
  Path weights;

  @Option(names = "--runs", defaultValue = "5", description = "Timed runs (default 5, at least 1).")
  int runs;

  @Option(names = "--warmup", defaultValue = "1", description = "Untimed runs first (default 1).")
  int warmup;

  @Option(names = "--layers", description = "Also report the median wall time of every gA and gS step.")
  boolean layers;

  @Spec CommandSpec spec;

  public BenchCodecCommand() {}

  @Override
  public Integer call() throws IOException {
    if (runs < 1 || warmup < 0) {
      throw new IllegalArgumentException("--runs must be >= 1 and --warmup >= 0");
    }
    TacoConfig config = TacoConfig.preset(preset);
    HostTensor x = Images.read(image);
    Random r = new Random(1);
    float[] t = new float[CompressCommand.TEXT_TOKENS * config.textDim()];
    for (int i = 0; i < t.length; i++) {
      t[i] = (float) r.nextGaussian();
    }
    HostTensor text = HostTensor.ofFloats(t, CompressCommand.TEXT_TOKENS, config.textDim());
    long load0 = System.nanoTime();
    try (TacoCodec codec =
        weights == null
            ? TacoCodec.builder().setRandomWeights(1).optConfig(config).build()
            : TacoCodec.builder().setWeights(weights).optConfig(config)
                .optScaleTable(ai.taco.core.ScaleTable.defaultTable()).build()) {
      double loadSeconds = (System.nanoTime() - load0) / 1e9;
      Map<String, List<Double>> enc = new LinkedHashMap<>();
      Map<String, List<Double>> dec = new LinkedHashMap<>();
      Map<String, List<Double>> encLayers = new LinkedHashMap<>();
      Map<String, List<Double>> decLayers = new LinkedHashMap<>();
      CodedImage file = null;
      List<Double> encCpu = new ArrayList<>();
      List<Double> decCpu = new ArrayList<>();
      for (int i = 0; i < warmup + runs; i++) {
        long c0 = cpuNanos();
        Timer te = new Timer();
        file = codec.compress(x, text, EncodeOptions.DEFAULT.withListener(te));
        long c1 = cpuNanos();
        Timer td = new Timer();
        codec.decompress(file, DecodeOptions.DEFAULT.withListener(td));
        long c2 = cpuNanos();
        if (i >= warmup) {
          te.addTo(enc, encLayers);
          td.addTo(dec, decLayers);
          encCpu.add((c1 - c0) / 1e9);
          decCpu.add((c2 - c1) / 1e9);
        }
      }
      ObjectNode j = new ObjectMapper().createObjectNode();
      j.put("image", image.toString());
      j.put("height", file.height());
      j.put("width", file.width());
      j.put("preset", preset);
      j.put("weights", weights == null ? "random" : weights.toString());
      j.put("threads", ai.djl.pytorch.jni.JniUtils.getNumThreads());
      j.put("runs", runs);
      j.put("warmup", warmup);
      j.put("load_seconds", loadSeconds);
      j.put("bytes", file.toBytes().length);
      ObjectNode e = j.putObject("encode_median_seconds");
      enc.forEach((k, v) -> e.put(k, median(v)));
      ObjectNode d = j.putObject("decode_median_seconds");
      dec.forEach((k, v) -> d.put(k, median(v)));
      if (layers) {
        ObjectNode le = j.putObject("encode_layer_median_seconds");
        encLayers.forEach((k, v) -> le.put(k, median(v)));
        ObjectNode ld = j.putObject("decode_layer_median_seconds");
        decLayers.forEach((k, v) -> ld.put(k, median(v)));
      }
      // CPU time of the whole process (all libtorch threads): a load-independent view when the machine is shared.
      j.put("encode_median_cpu_seconds", median(encCpu));
      j.put("decode_median_cpu_seconds", median(decCpu));
      j.put("load_average_1min", loadAverage());
      j.put("peak_rss_mib", peakRssKib() / 1024.0);
      spec.commandLine().getOut().println(j.toPrettyString());
      spec.commandLine().getOut().flush();
    }
    return 0;
  }

  /** Records the time spent in each stage of one call, plus the total. */
  private static final class Timer implements StageListener {
    private final long start = System.nanoTime();
    private final long startCpu = cpuNanos();
    private final Map<String, Double> seconds = new LinkedHashMap<>();
    private final Map<String, Double> layerSeconds = new LinkedHashMap<>();
    private String current;
    private long since = start;
    private long sinceCpu = startCpu;
    /** The previous stage or step event: a step's time runs from there. */
    private long lastEvent = start;

    @Override
    public void stage(String name) {
      long now = System.nanoTime();
      long cpu = cpuNanos();
      if (current != null) {
        seconds.merge(current, (now - since) / 1e9, Double::sum);
        seconds.merge(current + "_cpu", (cpu - sinceCpu) / 1e9, Double::sum);
      }
      current = name.equals("done") ? null : name;
      since = now;
      sinceCpu = cpu;
      lastEvent = now;
      if (name.equals("done")) {
        seconds.put("total", (now - start) / 1e9);
        seconds.put("total_cpu", (cpu - startCpu) / 1e9);
      }
    }

    @Override
    public void step(String name) {
      long now = System.nanoTime();
      layerSeconds.put(name, (now - lastEvent) / 1e9);
      lastEvent = now;
    }

    void addTo(Map<String, List<Double>> all, Map<String, List<Double>> allLayers) {
      seconds.forEach((k, v) -> all.computeIfAbsent(k, x -> new ArrayList<>()).add(v));
      layerSeconds.forEach((k, v) -> allLayers.computeIfAbsent(k, x -> new ArrayList<>()).add(v));
    }
  }

  static double median(List<Double> v) {
    double[] a = v.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(a);
    return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
  }

  static long cpuNanos() {
    java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuTime() : -1;
  }

  static double loadAverage() {
    return java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
  }

  /** VmHWM of /proc/self/status (peak resident set), in KiB; -1 where unavailable. */
  static long peakRssKib() throws IOException {
    Path status = Path.of("/proc/self/status");
    if (!Files.isReadable(status)) {
      return -1;
    }
    for (String line : Files.readAllLines(status)) {
      if (line.startsWith("VmHWM:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    return -1;
  }
}
