package ai.taco.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.taco.core.error.WeightsException;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.SafeTensors;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything needed to continue a training run exactly: the model's state dict (official key names), both Adam
 * optimizers, the MultiStepLR counter, where the data loader stands, and the best evaluation metrics so far (the
 * official checkpoint's fields, plus the loader position because we can also stop mid-epoch).
 *
 * <p>File format: one safetensors file (written atomically: temp file, then rename). Tensors are prefixed {@code
 * model.}, {@code optimizer.<param>.exp_avg|exp_avg_sq} and {@code aux_optimizer.<param>...}; the scalars are a JSON
 * document in the metadata entry {@value #META_KEY}.
 */
public record TrainCheckpoint(
    Map<String, HostTensor> model,
    OptimizerState optimizer,
    OptimizerState auxOptimizer,
    int schedulerLastEpoch,
    Progress progress,
    BestMetrics best,
    Map<String, String> info) {

  /** Metadata key that holds the JSON document. */
  static final String META_KEY = "taco_train_checkpoint";
  /** Format tag, bumped when the layout changes. */
  static final String FORMAT = "taco-j-train-checkpoint/1";
  static final String MODEL = "model.";
  static final String OPT = "optimizer.";
  static final String AUX = "aux_optimizer.";
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * Where a run stands. {@code epoch} is the epoch in progress (0-based), {@code position} how many entries of that
   * epoch's permutation were consumed (0 at an epoch boundary), {@code step} the number of optimizer steps so far.
   * The data RNG is fully determined by {@code seed} and these (see the Loader).
   */
  public record Progress(int epoch, long position, long step, long seed) {}

  /** Best per-epoch evaluation metrics so far; the initial values are those of train.py. */
  public record BestMetrics(double psnr, double msSsim, double bpp, double lpips) {
    public static BestMetrics initial() {
      return new BestMetrics(0.0, 0.0, Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY);
    }
  }

  /** Host copy of one Adam: learning rate, per-parameter step counts and moment buffers. */
  public record OptimizerState(
      double learningRate, Map<String, Long> steps, Map<String, HostTensor> expAvg, Map<String, HostTensor> expAvgSq) {

    public static OptimizerState of(TorchAdam adam) {
      Map<String, Long> steps = new LinkedHashMap<>();
      Map<String, HostTensor> m = new LinkedHashMap<>();
      Map<String, HostTensor> v = new LinkedHashMap<>();
      adam.state()
          .forEach(
              (k, s) -> {
                steps.put(k, s.step());
                m.put(k, HostTensor.fromNDArray(s.expAvg()));
                v.put(k, HostTensor.fromNDArray(s.expAvgSq()));
              });
      return new OptimizerState(adam.learningRate(), steps, m, v);
    }

    /** Puts this state into {@code adam} (learning rate, steps, moments). */
    public void restore(TorchAdam adam, NDManager manager) {
      try (NDManager tmp = manager.newSubManager()) {
        Map<String, TorchAdam.ParamState> s = new LinkedHashMap<>();
        for (Map.Entry<String, Long> e : steps.entrySet()) {
          NDArray m = expAvg.get(e.getKey()).toNDArray(tmp);
          NDArray v = expAvgSq.get(e.getKey()).toNDArray(tmp);
          s.put(e.getKey(), new TorchAdam.ParamState(e.getValue(), m, v));
        }
        adam.loadState(s);
      }
      adam.setLearningRate(learningRate);
    }
  }

  /** Writes atomically (a crash never leaves a half-written file under {@code file}'s name). */
  public void write(Path file) {
    Map<String, HostTensor> tensors = new LinkedHashMap<>();
    model.forEach((k, v) -> tensors.put(MODEL + k, v));
    putOptimizer(tensors, OPT, optimizer);
    putOptimizer(tensors, AUX, auxOptimizer);
    ObjectNode doc = JSON.createObjectNode();
    doc.put("format", FORMAT);
    doc.set("optimizer", optimizerJson(optimizer));
    doc.set("aux_optimizer", optimizerJson(auxOptimizer));
    doc.putObject("lr_scheduler").put("last_epoch", schedulerLastEpoch);
    ObjectNode p = doc.putObject("progress");
    p.put("epoch", progress.epoch());
    p.put("position", progress.position());
    p.put("step", progress.step());
    p.put("seed", progress.seed());
    // Doubles as strings: JSON has no Infinity, and the initial best bpp/LPIPS are infinite.
    ObjectNode b = doc.putObject("best");
    b.put("psnr", Double.toString(best.psnr()));
    b.put("ms_ssim", Double.toString(best.msSsim()));
    b.put("bpp", Double.toString(best.bpp()));
    b.put("lpips", Double.toString(best.lpips()));
    ObjectNode i = doc.putObject("info");
    info.forEach(i::put);
    try {
      SafeTensors.write(file, tensors, Map.of(META_KEY, JSON.writeValueAsString(doc)));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write checkpoint " + file + ": " + e.getMessage(), e);
    }
  }

  private static void putOptimizer(Map<String, HostTensor> out, String prefix, OptimizerState s) {
    s.steps()
        .keySet()
        .forEach(
            k -> {
              out.put(prefix + k + ".exp_avg", s.expAvg().get(k));
              out.put(prefix + k + ".exp_avg_sq", s.expAvgSq().get(k));
            });
  }

  private static ObjectNode optimizerJson(OptimizerState s) {
    ObjectNode o = JSON.createObjectNode();
    o.put("lr", Double.toString(s.learningRate()));
    ObjectNode steps = o.putObject("steps");
    s.steps().forEach(steps::put);
    return o;
  }

  /** Reads a checkpoint written by {@link #write}; a foreign or damaged file gives a {@link WeightsException}. */
  public static TrainCheckpoint read(Path file) {
    SafeTensors.Contents c = SafeTensors.read(file);
    String meta = c.metadata().get(META_KEY);
    if (meta == null) {
      throw new WeightsException(
          file + " is not a TACO-J training checkpoint (no '" + META_KEY + "' metadata); to start from plain"
              + " weights use a fresh run");
    }
    try {
      JsonNode doc = JSON.readTree(meta);
      if (!FORMAT.equals(doc.path("format").asText())) {
        throw new WeightsException(file + ": unsupported checkpoint format " + doc.path("format"));
      }
      Map<String, HostTensor> model = new LinkedHashMap<>();
      c.tensors()
          .forEach(
              (k, v) -> {
                if (k.startsWith(MODEL)) {
                  model.put(k.substring(MODEL.length()), v);
                }
              });
      OptimizerState opt = readOptimizer(file, c.tensors(), OPT, doc.path("optimizer"));
      OptimizerState aux = readOptimizer(file, c.tensors(), AUX, doc.path("aux_optimizer"));
      JsonNode p = doc.path("progress");
      JsonNode b = doc.path("best");
      Map<String, String> info = new LinkedHashMap<>();
      doc.path("info").fields().forEachRemaining(e -> info.put(e.getKey(), e.getValue().asText()));
      return new TrainCheckpoint(
          model,
          opt,
          aux,
          required(file, doc.path("lr_scheduler"), "last_epoch").asInt(),
          new Progress(
              required(file, p, "epoch").asInt(),
              required(file, p, "position").asLong(),
              required(file, p, "step").asLong(),
              required(file, p, "seed").asLong()),
          new BestMetrics(
              Double.parseDouble(required(file, b, "psnr").asText()),
              Double.parseDouble(required(file, b, "ms_ssim").asText()),
              Double.parseDouble(required(file, b, "bpp").asText()),
              Double.parseDouble(required(file, b, "lpips").asText())),
          info);
    } catch (JsonProcessingException | NumberFormatException e) {
      throw new WeightsException(file + ": damaged checkpoint metadata: " + e.getMessage(), e);
    }
  }

  private static JsonNode required(Path file, JsonNode node, String field) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      throw new WeightsException(file + ": checkpoint metadata lacks '" + field + "'");
    }
    return v;
  }

  private static OptimizerState readOptimizer(
      Path file, Map<String, HostTensor> tensors, String prefix, JsonNode node) {
    Map<String, Long> steps = new LinkedHashMap<>();
    Map<String, HostTensor> m = new LinkedHashMap<>();
    Map<String, HostTensor> v = new LinkedHashMap<>();
    List<String> missing = new ArrayList<>();
    node.path("steps")
        .fields()
        .forEachRemaining(
            e -> {
              String k = e.getKey();
              steps.put(k, e.getValue().asLong());
              HostTensor a = tensors.get(prefix + k + ".exp_avg");
              HostTensor b = tensors.get(prefix + k + ".exp_avg_sq");
              if (a == null || b == null) {
                missing.add(prefix + k);
              }
              m.put(k, a);
              v.put(k, b);
            });
    if (!missing.isEmpty()) {
      throw new WeightsException(file + ": optimizer moments missing for " + missing);
    }
    return new OptimizerState(Double.parseDouble(required(file, node, "lr").asText()), steps, m, v);
  }
}
