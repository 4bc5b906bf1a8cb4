package ai.taco.eval.bench;

import ai.djl.ndarray.NDManager;
import ai.taco.core.clip.ClipConfig;
import ai.taco.core.clip.ClipTextModel;
import ai.taco.core.clip.ClipTokenizer;
import ai.taco.core.tensor.HostTensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * CPU timing of CLIP text encoding at ViT-B/32 text size (width 512, 12 layers, 8 heads, vocab 49408) with random
 * weights (the real weights cannot be had here; the cost does not depend on their values). Measures one caption
 * per call (TACO's encoder) and a batch of captions (training / embed-text).
 */
public final class ClipTextBench {

  /** HF CLIP initializer_range: the std of the random weights (their values do not change the cost). */
  private static final float INIT_STD = 0.02f;

  private ClipTextBench() {}

  /**
   * @param tokenizer tokenizer.json to time tokenization too, or {@code null} for synthetic token ids
   */
  public record Settings(int batch, int warmup, int runs, long seed, Path tokenizer) {}

  public static Map<String, Object> run(Settings s) {
    ClipConfig.Text cfg = ClipConfig.Text.defaults();
    Random rnd = new Random(s.seed());
    long t0 = System.nanoTime();
    Map<String, HostTensor> sd = randomWeights(cfg, rnd);
    Map<String, Object> result = new LinkedHashMap<>();
    try (ClipTextModel model = ClipTextModel.fromStateDict(cfg, sd, "random ViT-B/32 text weights");
        NDManager m = NDManager.newBaseManager()) {
      double loadMs = (System.nanoTime() - t0) / 1e6;
      sd.clear();
      ClipTokenizer tok = s.tokenizer() == null ? null : ClipTokenizer.load(s.tokenizer());
      try {
        List<String> captions = captions(s.batch(), rnd);
        ClipTokenizer.Tokens single = tokens(tok, captions.subList(0, 1), rnd);
        ClipTokenizer.Tokens batch = tokens(tok, captions, rnd);
        double[] oneCpu = new double[s.runs()];
        double[] manyCpu = new double[s.runs()];
        double[] one = time(s, () -> forward(model, m, tok == null ? single : tok.encode(captions.get(0))), oneCpu);
        double[] many = time(s, () -> forward(model, m, tok == null ? batch : tok.encode(captions)), manyCpu);
        result.put("model", "CLIP text, ViT-B/32 size (width 512, 12 layers, 8 heads, vocab 49408), random weights");
        result.put("tokenizer", tok == null ? "none (synthetic token ids)" : s.tokenizer().toString());
        result.put("sequence_length", ClipTokenizer.TACO_MAX_LENGTH);
        result.put("threads", System.getProperty("ai.djl.pytorch.num_threads", "libtorch default"));
        result.put("cpus", Runtime.getRuntime().availableProcessors());
        result.put("weights_upload_ms", round(loadMs));
        result.put("runs", s.runs());
        result.put("single_caption_ms_median", round(median(one)));
        result.put("single_caption_ms_min", round(Arrays.stream(one).min().orElse(0)));
        result.put("single_caption_cpu_ms_median", round(median(oneCpu)));
        result.put("batch", s.batch());
        result.put("batch_ms_median", round(median(many)));
        result.put("batch_captions_per_s", round(s.batch() / (median(many) / 1000)));
        result.put("batch_ms_per_caption", round(median(many) / s.batch()));
        result.put("batch_ms_min", round(Arrays.stream(many).min().orElse(0)));
        result.put("batch_cpu_ms_median", round(median(manyCpu)));
        result.put("load_average", round(java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));
      } finally {
        if (tok != null) {
          tok.close();
        }
      }
    }
    return result;
  }

  private static void forward(ClipTextModel model, NDManager m, ClipTokenizer.Tokens t) {
    try (NDManager call = m.newSubManager()) {
      // toFloatArray forces the result to host memory: the time includes everything a caller waits for.
      model.forward(call, t).lastHiddenState().toFloatArray();
    }
  }

  /** Wall-clock ms of each timed run; {@code cpuMs} receives the process CPU ms (all threads, native included). */
  private static double[] time(Settings s, Runnable r, double[] cpuMs) {
    for (int i = 0; i < s.warmup(); i++) {
      r.run();
    }
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    double[] ms = new double[s.runs()];
    for (int i = 0; i < s.runs(); i++) {
      long c = os.getProcessCpuTime();
      long t = System.nanoTime();
      r.run();
      ms[i] = (System.nanoTime() - t) / 1e6;
      cpuMs[i] = (os.getProcessCpuTime() - c) / 1e6;
    }
    return ms;
  }

  private static double median(double[] a) {
    double[] c = a.clone();
    Arrays.sort(c);
    return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
  }

  private static double round(double v) {
    return Math.round(v * 100) / 100.0;
  }

  /** Caption-like strings of 6-20 words (only used when a tokenizer is given). */
  private static List<String> captions(int n, Random rnd) {
    String[] words = {"a", "red", "door", "with", "the", "old", "brick", "building", "two", "people", "walking",
        "on", "beach", "near", "blue", "boat", "green", "field", "of", "flowers", "under", "cloudy", "sky"};
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      StringBuilder sb = new StringBuilder();
      int len = 6 + rnd.nextInt(15);
      for (int w = 0; w < len; w++) {
        sb.append(w == 0 ? "" : " ").append(words[rnd.nextInt(words.length)]);
      }
      out.add(sb.toString());
    }
    return out;
  }

  /** Tokenized captions, or synthetic ids (BOS, 6-20 random tokens, EOS, pads) without a tokenizer. */
  private static ClipTokenizer.Tokens tokens(ClipTokenizer tok, List<String> captions, Random rnd) {
    if (tok != null) {
      return tok.encode(captions);
    }
    int len = ClipTokenizer.TACO_MAX_LENGTH;
    int n = captions.size();
    long[] ids = new long[n * len];
    long[] mask = new long[n * len];
    for (int i = 0; i < n; i++) {
      int real = 8 + rnd.nextInt(15);
      for (int j = 0; j < len; j++) {
        ids[i * len + j] = j == 0 ? 49406 : j < real - 1 ? 1 + rnd.nextInt(49000) : 49407;
        mask[i * len + j] = j < real ? 1 : 0;
      }
    }
    return new ClipTokenizer.Tokens(n, len, ids, mask);
  }

  /** HF-style random init: N(0, 0.02) matrices and embeddings, LayerNorm weight 1 / bias 0, zero biases. */
  private static Map<String, HostTensor> randomWeights(ClipConfig.Text c, Random rnd) {
    Map<String, HostTensor> sd = new LinkedHashMap<>();
    int d = c.hiddenSize();
    String p = "text_model.";
    sd.put(p + "embeddings.token_embedding.weight", normal(rnd, c.vocabSize(), d));
    sd.put(p + "embeddings.position_embedding.weight", normal(rnd, c.maxPositionEmbeddings(), d));
    for (int l = 0; l < c.numHiddenLayers(); l++) {
      String q = p + "encoder.layers." + l + ".";
      for (String proj : new String[] {"q_proj", "k_proj", "v_proj", "out_proj"}) {
        sd.put(q + "self_attn." + proj + ".weight", normal(rnd, d, d));
        sd.put(q + "self_attn." + proj + ".bias", filled(0f, d));
      }
      sd.put(q + "layer_norm1.weight", filled(1f, d));
      sd.put(q + "layer_norm1.bias", filled(0f, d));
      sd.put(q + "mlp.fc1.weight", normal(rnd, c.intermediateSize(), d));
      sd.put(q + "mlp.fc1.bias", filled(0f, c.intermediateSize()));
      sd.put(q + "mlp.fc2.weight", normal(rnd, d, c.intermediateSize()));
      sd.put(q + "mlp.fc2.bias", filled(0f, d));
      sd.put(q + "layer_norm2.weight", filled(1f, d));
      sd.put(q + "layer_norm2.bias", filled(0f, d));
    }
    sd.put(p + "final_layer_norm.weight", filled(1f, d));
    sd.put(p + "final_layer_norm.bias", filled(0f, d));
    sd.put("text_projection.weight", normal(rnd, c.projectionDim(), d));
    return sd;
  }

  private static HostTensor normal(Random rnd, int rows, int cols) {
    float[] v = new float[rows * cols];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) rnd.nextGaussian() * INIT_STD;
    }
    return HostTensor.ofFloats(v, rows, cols);
  }

  private static HostTensor filled(float value, int n) {
    float[] v = new float[n];
    Arrays.fill(v, value);
    return HostTensor.ofFloats(v, n);
  }

}
