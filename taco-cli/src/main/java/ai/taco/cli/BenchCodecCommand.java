package ai.taco.cli;

import ai.taco.core.DecodeOptions;
import ai.taco.core.EncodeOptions;
import ai.taco.core.StageListener;
import ai.taco.core.TacoCodec;
import ai.taco.core.tensor.Precision;
import ai.taco.core.TacoConfig;
import ai.taco.core.Tiling;
import ai.taco.core.bitstream.CodedImage;
import ai.taco.core.image.Images;
import ai.taco.core.tensor.HostTensor;
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
            + " y entropy coding, gS), per megapixel, the MACs and achieved GFLOP/s of gA and gS next to a measured fp32"
            + " matmul peak, and the peak RSS of encode and decode; with --layers also by gA / gS step; with --sizes on"
            + " images of several sizes tiled from the one given. Prints JSON on stdout."
            + " Set TACO_THREADS for libtorch's intra-op threads.")
public final class BenchCodecCommand implements TacoCommand {
  /**
   * What the timed decode produces: the image in bands of rows, one at a time in host memory, as taco decompress
   * decodes before encoding each band into the PNG (the PNG encoding itself is not timed).
   */
  static final String DECODE_OUTPUT = "host-bands";

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

  @Option(names = "--layers", description = "Also report every gA and gS step: median wall time, MACs, GFLOP/s.")
  boolean layers;

  @Option(
      names = "--tile",
      paramLabel = "PX",
      defaultValue = "1536",
      description = "gA tile edge in pixels (multiple of 16; 0: untiled); gS's is as large, at most 1024. Default 1536.")
  int tile;

  @Option(
      names = "--sub-tile",
      paramLabel = "PX",
      defaultValue = "512",
      description = "Sub-tile edge of the full-resolution layers (multiple of 16, at most --tile). Default 512.")
  int subTile;

  @Option(
      names = "--sizes",
      split = ",",
      paramLabel = "WxH",
      description = "Instead of the image itself, code images of these sizes tiled from it (e.g."
          + " 768x512,1920x1080,3840x2160,7680x4320), each with its own peak RSS.")
  List<String> sizes;

  @Option(
      names = "--precision",
      split = ",",
      paramLabel = "P",
      defaultValue = "fp32",
      converter = PrecisionConverter.class,
      description = "Arithmetic of gA/gS: fp32 (default), bf16, fp16, or a list (fp32,bf16) to time each in this run"
          + " with the same weights; a list also reports each one's speed-up over the first and its size change.")
  List<Precision> precisions;

  @Spec CommandSpec spec;

  public BenchCodecCommand() {}

  @Override
  public Integer call() throws IOException {
    if (runs < 1 || warmup < 0) {
      throw new IllegalArgumentException("--runs must be >= 1 and --warmup >= 0");
    }
    TacoConfig config = TacoConfig.preset(preset);
    List<int[]> dims = new ArrayList<>();
    for (String s : sizes == null ? List.<String>of() : sizes) {
      dims.add(parseSize(s));
    }
    // 8-bit images as bytes (the encoder divides by 255 itself, same bitstream): a quarter of the float image's memory.
    HostTensor source = Images.readCompact(image);
    Random r = new Random(1);
    float[] t = new float[CompressCommand.TEXT_TOKENS * config.textDim()];
    for (int i = 0; i < t.length; i++) {
      t[i] = (float) r.nextGaussian();
    }
    HostTensor text = HostTensor.ofFloats(t, CompressCommand.TEXT_TOKENS, config.textDim());
    ObjectMapper json = new ObjectMapper();
    ObjectNode j = json.createObjectNode();
    j.put("image", image.toString());
    j.put("preset", preset);
    j.put("weights", weights == null ? "random" : weights.toString());
    j.put("runs", runs);
    j.put("warmup", warmup);
    j.put("tile", tile);
    Tiling tiling = ai.taco.eval.codec.CodecSpec.tiling(tile, subTile);
    j.put("synthesis_tile", tiling.synthesisTile());
    j.put("sub_tile", tiling.subTile());
    j.put("decode_output", DECODE_OUTPUT);
    // One codec per precision (same weights), timed in alternation within each run so that all see the same load.
    ObjectNode byPrecision = json.createObjectNode();
    List<ObjectNode> out = new ArrayList<>();
    List<TacoCodec> codecs = new ArrayList<>();
    try {
      for (Precision precision : precisions) {
        ObjectNode p = precisions.size() == 1 ? j : byPrecision.putObject(precision.id());
        p.put("precision", precision.id());
        long load0 = System.nanoTime();
        codecs.add((weights == null
                ? TacoCodec.builder().setRandomWeights(1).optConfig(config)
                    .optTiling(tiling).optPrecision(precision).build()
                : new ai.taco.eval.codec.CodecSpec(weights.toString(), preset, null, null, tile, subTile, precision.id())
                    .build()));
        p.put("load_seconds", (System.nanoTime() - load0) / 1e9);
        if (codecs.size() == 1) {
          j.put("threads", ai.djl.pytorch.jni.JniUtils.getNumThreads()); // the engine is loaded now
          j.put("matmul_peak_gflops", Roofline.matmulPeakGflops());
        }
        p.put("conv3x3_peak_gflops", Roofline.convPeakGflops(precision));
        out.add(p);
      }
      if (dims.isEmpty()) {
        List<ObjectNode> reports = run(codecs, config, source, text, json);
        for (int k = 0; k < codecs.size(); k++) {
          out.get(k).setAll(reports.get(k));
        }
      } else {
        for (int[] d : dims) {
          // tiled from the file again each time: only one synthesised image alive at a time
          HostTensor x = KodakTiling.tile(Images.readCompact(image), d[0], d[1]);
          List<ObjectNode> reports = run(codecs, config, x, text, json);
          for (int k = 0; k < codecs.size(); k++) {
            (out.get(k).has("sizes") ? (com.fasterxml.jackson.databind.node.ArrayNode) out.get(k).get("sizes")
                : out.get(k).putArray("sizes")).add(reports.get(k));
          }
        }
      }
    } finally {
      codecs.forEach(TacoCodec::close);
    }
    if (precisions.size() > 1) {
      j.set("precisions", byPrecision);
      j.set("relative_to_" + precisions.get(0).id(), compare(json, byPrecision, precisions));
    }
    j.put("load_average_1min", loadAverage());
    j.put("allocator", allocator());
    j.put("peak_rss_mib", peakRssKib() / 1024.0);
    spec.commandLine().getOut().println(j.toPrettyString());
    spec.commandLine().getOut().flush();
    return 0;
  }

  /** Per later precision: speed-up of gA, gS, encode and decode over the first precision, and the size ratio. */
  private static ObjectNode compare(ObjectMapper json, ObjectNode byPrecision, List<Precision> precisions) {
    ObjectNode out = json.createObjectNode();
    ObjectNode base = (ObjectNode) byPrecision.get(precisions.get(0).id());
    for (Precision p : precisions.subList(1, precisions.size())) {
      ObjectNode o = out.putObject(p.id());
      ObjectNode cur = (ObjectNode) byPrecision.get(p.id());
      List<ObjectNode[]> pairs = new ArrayList<>();
      if (base.has("sizes")) {
        for (int i = 0; i < base.get("sizes").size(); i++) {
          pairs.add(new ObjectNode[] {(ObjectNode) base.get("sizes").get(i), (ObjectNode) cur.get("sizes").get(i)});
        }
      } else {
        pairs.add(new ObjectNode[] {base, cur});
      }
      var arr = o.putArray("sizes");
      for (ObjectNode[] pair : pairs) {
        ObjectNode r = arr.addObject();
        r.put("width", pair[0].get("width").asLong());
        r.put("height", pair[0].get("height").asLong());
        r.put("gA_speedup", ratio(pair, "encode_median_seconds", "gA"));
        r.put("gS_speedup", ratio(pair, "decode_median_seconds", "gS"));
        r.put("encode_speedup", ratio(pair, "encode_median_seconds", "total"));
        r.put("decode_speedup", ratio(pair, "decode_median_seconds", "total"));
        r.put("bytes_ratio", pair[1].get("bytes").asDouble() / pair[0].get("bytes").asDouble());
      }
    }
    return out;
  }

  private static double ratio(ObjectNode[] pair, String group, String key) {
    return pair[0].get(group).get(key).asDouble() / pair[1].get(group).get(key).asDouble();
  }


  /** Times one image: stages, per-step MACs and GFLOP/s, per-megapixel time and the peak RSS of encode and decode. */
  /** The samples of one codec on one image. */
  private static final class Samples {
    final Map<String, List<Double>> enc = new LinkedHashMap<>();
    final Map<String, List<Double>> dec = new LinkedHashMap<>();
    final Map<String, List<Double>> encLayers = new LinkedHashMap<>();
    final Map<String, List<Double>> decLayers = new LinkedHashMap<>();
    final List<Double> encCpu = new ArrayList<>();
    final List<Double> decCpu = new ArrayList<>();
    CodedImage file;
    long encRss;
    long decRss;
  }

  /** Times one image with each codec, the codecs taking turns within every run; one report per codec. */
  private List<ObjectNode> run(List<TacoCodec> codecs, TacoConfig config, HostTensor x, HostTensor text,
      ObjectMapper json) throws IOException {
    List<Samples> all = new ArrayList<>();
    codecs.forEach(c -> all.add(new Samples()));
    for (int i = 0; i < warmup + runs; i++) {
      for (int k = 0; k < codecs.size(); k++) {
        TacoCodec codec = codecs.get(k);
        Samples s = all.get(k);
        boolean rssReset = resetPeakRss();
        long c0 = cpuNanos();
        Timer te = new Timer();
        s.file = codec.compress(x, text, EncodeOptions.DEFAULT.withListener(te));
        long c1 = cpuNanos();
        s.encRss = Math.max(s.encRss, rssReset ? peakRssKib() : -1);
        rssReset = resetPeakRss();
        Timer td = new Timer();
        // Banded, as taco decompress decodes: one band of rows in host memory at a time (dropped here, not encoded:
        // the PNG's time is not the codec's), so the peak RSS is that of the command.
        codec.decompress(s.file, DecodeOptions.DEFAULT.withListener(td), band -> { });
        long c2 = cpuNanos();
        s.decRss = Math.max(s.decRss, rssReset ? peakRssKib() : -1);
        if (i >= warmup) {
          te.addTo(s.enc, s.encLayers);
          td.addTo(s.dec, s.decLayers);
          s.encCpu.add((c1 - c0) / 1e9);
          s.decCpu.add((c2 - c1) / 1e9);
        }
      }
    }
    List<ObjectNode> reports = new ArrayList<>();
    for (Samples s : all) {
      reports.add(report(s, config, json));
    }
    return reports;
  }

  private ObjectNode report(Samples s, TacoConfig config, ObjectMapper json) throws IOException {
    Map<String, List<Double>> enc = s.enc;
    Map<String, List<Double>> dec = s.dec;
    CodedImage file = s.file;
    long h = file.height();
    long w = file.width();
    long ph = (h + TacoCodec.PAD_MULTIPLE - 1) / TacoCodec.PAD_MULTIPLE * TacoCodec.PAD_MULTIPLE;
    long pw = (w + TacoCodec.PAD_MULTIPLE - 1) / TacoCodec.PAD_MULTIPLE * TacoCodec.PAD_MULTIPLE;
    double mp = h * w / 1e6;
    Map<String, Double> gaMacs = TransformMacs.analysis(config, ph, pw, CompressCommand.TEXT_TOKENS);
    Map<String, Double> gsMacs = TransformMacs.synthesis(config, ph, pw);
    ObjectNode j = json.createObjectNode();
    j.put("height", h);
    j.put("width", w);
    j.put("megapixels", mp);
    j.put("bytes", file.toBytes().length);
    ObjectNode e = j.putObject("encode_median_seconds");
    enc.forEach((k, v) -> e.put(k, median(v)));
    ObjectNode d = j.putObject("decode_median_seconds");
    dec.forEach((k, v) -> d.put(k, median(v)));
    double encTotal = median(enc.get("total"));
    double decTotal = median(dec.get("total"));
    j.put("encode_seconds_per_megapixel", encTotal / mp);
    j.put("decode_seconds_per_megapixel", decTotal / mp);
    j.put("gA_gmac", TransformMacs.total(gaMacs) / 1e9);
    j.put("gA_gflops", 2 * TransformMacs.total(gaMacs) / 1e9 / median(enc.get("gA")));
    j.put("gS_gmac", TransformMacs.total(gsMacs) / 1e9);
    j.put("gS_gflops", 2 * TransformMacs.total(gsMacs) / 1e9 / median(dec.get("gS")));
    if (layers) {
      j.set("encode_layers", Roofline.layers(json, s.encLayers, gaMacs));
      j.set("decode_layers", Roofline.layers(json, s.decLayers, gsMacs));
    }
    // CPU time of the whole process (all libtorch threads): a load-independent view when the machine is shared.
    j.put("encode_median_cpu_seconds", median(s.encCpu));
    j.put("decode_median_cpu_seconds", median(s.decCpu));
    j.put("encode_peak_rss_mib", s.encRss / 1024.0);
    j.put("decode_peak_rss_mib", s.decRss / 1024.0);
    return j;
  }

  /** "WxH" as {width, height}. */
  static int[] parseSize(String s) {
    String[] p = s.trim().toLowerCase(java.util.Locale.ROOT).split("x");
    try {
      if (p.length == 2) {
        int w = Integer.parseInt(p[0]);
        int h = Integer.parseInt(p[1]);
        if (w > 0 && h > 0) {
          return new int[] {w, h};
        }
      }
    } catch (NumberFormatException ex) {
      // reported below
    }
    throw new IllegalArgumentException("--sizes entry '" + s + "' is not WIDTHxHEIGHT with positive integers");
  }

  /**
   * Resets the kernel's peak-RSS counter of this process (writing 5 to /proc/self/clear_refs, Linux 4.0+), so the next
   * {@link #peakRssKib()} covers only what follows. False where that is impossible.
   */
  static boolean resetPeakRss() {
    try {
      Files.writeString(Path.of("/proc/self/clear_refs"), "5");
      return true;
    } catch (IOException | RuntimeException ex) {
      return false;
    }
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
      layerSeconds.merge(name, (now - lastEvent) / 1e9, Double::sum); // tiled: once per tile
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

  /** Known allocator libraries, by the file-name stem they are mapped under. */
  private static final List<String> ALLOCATORS = List.of("tcmalloc", "jemalloc", "mimalloc");

  /**
   * The malloc this process runs on (it changes the timings: docs/performance.md, Allocator): the first known
   * allocator library mapped into the process (scripts/taco preloads tcmalloc when installed), else glibc's.
   */
  static String allocator() throws IOException {
    Path maps = Path.of("/proc/self/maps");
    if (!Files.isReadable(maps)) {
      return "unknown";
    }
    try (var lines = Files.lines(maps)) {
      return lines.flatMap(l -> ALLOCATORS.stream().filter(a -> l.contains("/lib" + a))).findFirst().orElse("glibc");
    }
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
