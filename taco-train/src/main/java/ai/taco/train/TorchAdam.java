package ai.taco.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Adam with exactly the update of {@code torch.optim.Adam} (weight_decay 0, amsgrad off), which DJL's built-in
 * {@code ai.djl.training.optimizer.Adam} does not have (it folds the bias corrections differently and counts steps
 * globally; docs/djl-traps.md): named after torch so the two are never confused.
 *
 * <p>Per parameter, in torch's order: {@code step += 1; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²;
 * step_size = lr / (1 - b1^step); denom = sqrt(v) / sqrt(1 - b2^step) + eps; p -= step_size · m / denom}.
 * A parameter without a gradient in a step is skipped, as torch skips parameters whose {@code grad} is None.
 *
 * <p>The moment buffers live in this optimizer's own manager and are unregistered from any open {@link NDScope}, so
 * they survive the per-step scopes of the training loop. Close the optimizer to free them.
 */
public final class TorchAdam implements AutoCloseable {

  /** torch.optim.TorchAdam default betas[0]. */
  public static final double DEFAULT_BETA1 = 0.9;
  /** torch.optim.TorchAdam default betas[1]. */
  public static final double DEFAULT_BETA2 = 0.999;
  /** torch.optim.TorchAdam default eps. */
  public static final double DEFAULT_EPS = 1e-8;

  /** Moment estimates of one parameter; {@code step} counts the updates it received (torch keeps it per parameter). */
  public record ParamState(long step, NDArray expAvg, NDArray expAvgSq) {}

  private final LinkedHashMap<String, NDArray> params;
  private final double beta1;
  private final double beta2;
  private final double eps;
  private final NDManager stateManager;
  private final Map<String, ParamState> state = new LinkedHashMap<>();
  private double learningRate;

  /**
   * @param params the parameters in the optimizer's order (the official configure_optimizers uses sorted names)
   * @param learningRate initial learning rate
   */
  public TorchAdam(Map<String, NDArray> params, double learningRate) {
    this(params, learningRate, DEFAULT_BETA1, DEFAULT_BETA2, DEFAULT_EPS);
  }

  public TorchAdam(Map<String, NDArray> params, double learningRate, double beta1, double beta2, double eps) {
    if (params.isEmpty()) {
      throw new IllegalArgumentException("TorchAdam needs at least one parameter");
    }
    if (!(learningRate >= 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps >= 0)) {
      throw new IllegalArgumentException(
          "invalid TorchAdam hyper-parameters: lr=" + learningRate + " betas=(" + beta1 + "," + beta2 + ") eps=" + eps);
    }
    this.params = new LinkedHashMap<>(params);
    this.learningRate = learningRate;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.stateManager = this.params.values().iterator().next().getManager().newSubManager();
  }

  public double learningRate() {
    return learningRate;
  }

  public void setLearningRate(double learningRate) {
    this.learningRate = learningRate;
  }

  /** Names of the optimized parameters, in optimizer order. */
  public List<String> parameterNames() {
    return List.copyOf(params.keySet());
  }

  /** The parameters, in optimizer order (live arrays, not copies). */
  public Map<String, NDArray> parameters() {
    return Collections.unmodifiableMap(params);
  }

  /** One update using each parameter's accumulated gradient ({@link NDArray#getGradient()}). */
  public void step() {
    try (NDScope scope = new NDScope()) {
      Map<String, NDArray> grads = new LinkedHashMap<>();
      for (Map.Entry<String, NDArray> e : params.entrySet()) {
        grads.put(e.getKey(), e.getValue().getGradient());
      }
      step(grads);
    }
  }

  /**
   * One update with the given gradients (by parameter name). Parameters missing from {@code grads} are skipped for
   * this step. Must be called outside any open GradientCollector (in-place updates of leaves; docs/djl-traps.md).
   */
  public void step(Map<String, NDArray> grads) {
    for (String name : grads.keySet()) {
      if (!params.containsKey(name)) {
        throw new IllegalArgumentException("gradient for a parameter this optimizer does not hold: " + name);
      }
    }
    try (NDScope scope = new NDScope()) {
      for (Map.Entry<String, NDArray> e : params.entrySet()) {
        NDArray grad = grads.get(e.getKey());
        if (grad == null) {
          continue;
        }
        NDArray p = e.getValue();
        if (!grad.getShape().equals(p.getShape())) {
          throw new IllegalArgumentException(
              "gradient of " + e.getKey() + " has shape " + grad.getShape() + ", parameter has " + p.getShape());
        }
        ParamState s = state.computeIfAbsent(e.getKey(), k -> newState(p));
        long step = s.step() + 1;
        NDArray m = s.expAvg();
        NDArray v = s.expAvgSq();
        // Scalars are passed as float: DJL turns a double operand into a float64 tensor and promotes the result,
        // while torch applies Python scalars to float32 tensors in float32.
        m.muli((float) beta1).addi(grad.mul((float) (1 - beta1)));
        v.muli((float) beta2).addi(grad.mul(grad).muli((float) (1 - beta2)));
        double biasCorrection1 = 1 - Math.pow(beta1, step);
        double biasCorrection2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
        double stepSize = learningRate / biasCorrection1;
        NDArray denom = v.sqrt().divi((float) biasCorrection2Sqrt).addi((float) eps);
        p.subi(m.div(denom).muli((float) stepSize));
        state.put(e.getKey(), new ParamState(step, m, v));
      }
    }
  }

  private ParamState newState(NDArray p) {
    NDArray m = stateManager.zeros(p.getShape(), p.getDataType());
    NDArray v = stateManager.zeros(p.getShape(), p.getDataType());
    NDScope.unregister(m, v);
    return new ParamState(0, m, v);
  }

  /**
   * The optimizer state by parameter name (only parameters that were updated at least once, as in torch). The arrays
   * are the live buffers: copy them before the next step if you keep them.
   */
  public Map<String, ParamState> state() {
    return Collections.unmodifiableMap(state);
  }

  /**
   * Replaces the state (for resuming). Arrays are copied into this optimizer's memory; steps and shapes are checked.
   */
  public void loadState(Map<String, ParamState> newState) {
    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, ParamState> e : newState.entrySet()) {
      NDArray p = params.get(e.getKey());
      if (p == null) {
        problems.add("unexpected parameter " + e.getKey());
      } else if (!e.getValue().expAvg().getShape().equals(p.getShape())
          || !e.getValue().expAvgSq().getShape().equals(p.getShape())) {
        problems.add("shape mismatch for " + e.getKey());
      } else if (e.getValue().step() < 1) {
        problems.add("step < 1 for " + e.getKey());
      }
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("cannot load TorchAdam state: " + String.join("; ", problems));
    }
    clearState();
    for (Map.Entry<String, ParamState> e : newState.entrySet()) {
      NDArray m = stateManager.create(e.getValue().expAvg().toFloatArray(), e.getValue().expAvg().getShape());
      NDArray v = stateManager.create(e.getValue().expAvgSq().toFloatArray(), e.getValue().expAvgSq().getShape());
      NDScope.unregister(m, v);
      state.put(e.getKey(), new ParamState(e.getValue().step(), m, v));
    }
  }

  private void clearState() {
    for (ParamState s : state.values()) {
      s.expAvg().close();
      s.expAvgSq().close();
    }
    state.clear();
  }

  @Override
  public void close() {
    clearState();
    stateManager.close();
  }
}
