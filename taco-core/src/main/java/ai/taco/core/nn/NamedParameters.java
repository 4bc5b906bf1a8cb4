package ai.taco.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The trainable tensors of a network, keyed by their official PyTorch state-dict names (so loading a checkpoint is a
 * lookup). Layers {@link #declare} their tensors when constructed (name, shape, initialiser) and fetch them with
 * {@link #get} during forward; the store is filled afterwards either randomly ({@link #initialize}) or from a state
 * dict ({@link #put}). Declaration order is the official module registration order.
 *
 * <p>The arrays live in one long-lived manager owned by the caller. When {@link #frozen()} (inference), layers may
 * cache tensors derived from parameters (e.g. polyphase deconvolution kernels) in that manager.
 */
public final class NamedParameters {

  /** A declared parameter: its shape and how to initialise it. */
  public record Spec(long[] shape, Init init) {}

  private final LinkedHashMap<String, Spec> specs = new LinkedHashMap<>();
  private final LinkedHashMap<String, NDArray> values = new LinkedHashMap<>();
  private final Map<String, NDArray> derived = new java.util.concurrent.ConcurrentHashMap<>();
  private NDManager manager;
  private volatile boolean frozen;

  /** Declares a parameter; called by layer constructors. Names must be unique. */
  public void declare(String name, long[] shape, Init init) {
    if (specs.putIfAbsent(name, new Spec(shape.clone(), init)) != null) {
      throw new IllegalStateException("parameter declared twice: " + name);
    }
  }

  /** Declared parameters (name -> spec) in registration order. */
  public Map<String, Spec> specs() {
    return Collections.unmodifiableMap(specs);
  }

  /** Allocates every declared parameter in {@code manager}, drawing values from a generator seeded with {@code seed}. */
  public void initialize(NDManager manager, long seed) {
    this.manager = manager;
    SplittableRandom rng = new SplittableRandom(seed);
    for (Map.Entry<String, Spec> e : specs.entrySet()) {
      long[] shape = e.getValue().shape();
      float[] data = new float[(int) new Shape(shape).size()];
      e.getValue().init().fill(data, shape, rng);
      NDArray a = manager.create(data, new Shape(shape));
      a.setName(e.getKey());
      values.put(e.getKey(), a);
    }
  }

  /** Sets the manager that owns the values {@link #put} later. */
  public void attach(NDManager manager) {
    this.manager = manager;
  }

  /** Stores a loaded value (must be a declared name with the declared shape; the caller checks first). */
  public void put(String name, NDArray value) {
    Spec s = specs.get(name);
    if (s == null || !value.getShape().equals(new Shape(s.shape()))) {
      throw new IllegalArgumentException("not a declared parameter of that shape: " + name + " " + value.getShape());
    }
    value.setName(name);
    values.put(name, value.getDataType() == DataType.FLOAT32 ? value : value.toType(DataType.FLOAT32, false));
  }

  /** The parameter called {@code name}. */
  public NDArray get(String name) {
    NDArray a = values.get(name);
    if (a == null) {
      throw new IllegalStateException("parameter not initialised: " + name);
    }
    return a;
  }

  /** All parameters in registration order (the live arrays, not copies). */
  public LinkedHashMap<String, NDArray> values() {
    LinkedHashMap<String, NDArray> out = new LinkedHashMap<>();
    for (String k : specs.keySet()) {
      out.put(k, get(k));
    }
    return out;
  }

  /** Marks the store read-only (inference); from now on derived tensors may be cached. */
  public void freeze() {
    frozen = true;
  }

  public boolean frozen() {
    return frozen;
  }

  /**
   * A tensor derived from parameters, cached in the store's manager when frozen (computed per call otherwise, so that
   * autograd sees the parameters).
   */
  public NDArray derived(String key, java.util.function.Supplier<NDArray> compute) {
    if (!frozen) {
      return compute.get();
    }
    return derived.computeIfAbsent(
        key,
        k -> {
          NDArray d = compute.get().stopGradient();
          NDArray kept = d.duplicate();
          kept.attach(manager);
          ai.djl.ndarray.NDScope.unregister(kept);
          return kept;
        });
  }

  /**
   * A tensor {@code make} creates from parameters in the store's manager, kept for the store's life; only for a frozen
   * store. Unlike {@link #derived} it makes no DJL call on the result, which may be of a type DJL must not be told
   * about (a bfloat16 weight copy, {@link OneDnn}).
   */
  NDArray cached(String key, java.util.function.Function<NDManager, NDArray> make) {
    if (!frozen) {
      throw new IllegalStateException("only a frozen store keeps derived tensors: " + key);
    }
    return derived.computeIfAbsent(
        key,
        k -> {
          NDArray kept = make.apply(manager);
          ai.djl.ndarray.NDScope.unregister(kept);
          return kept;
        });
  }

  /** The bfloat16 copy of parameter {@code name} ({@link OneDnn#bfloat16}), made once; only for a frozen store. */
  NDArray bfloat16(String name) {
    return cached(name + "#bf16", m -> OneDnn.bfloat16(get(name), m));
  }
}
