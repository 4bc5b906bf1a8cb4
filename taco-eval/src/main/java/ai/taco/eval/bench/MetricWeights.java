package ai.taco.eval.bench;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A metric's network: loaded when the metric opens, or, deferred, on its first image. A distributed driver that only
 * records rows and reduces features to FID/CMMD never calls a metric on an image, so it loads no weights.
 */
final class MetricWeights<T extends AutoCloseable> {

  /** Networks loaded in this JVM (tests). */
  private static final AtomicInteger LOADS = new AtomicInteger();

  private final Supplier<T> loader;
  private volatile T value;
  private boolean closed;

  private MetricWeights(Supplier<T> loader) {
    this.loader = loader;
  }

  /** @param defer load on first {@link #get()} instead of now */
  static <T extends AutoCloseable> MetricWeights<T> of(Supplier<T> loader, boolean defer) {
    MetricWeights<T> w = new MetricWeights<>(loader);
    if (!defer) {
      w.get();
    }
    return w;
  }

  static int loads() {
    return LOADS.get();
  }

  boolean loaded() {
    return value != null;
  }

  T get() {
    T v = value;
    if (v != null) {
      return v;
    }
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException("the metric was closed");
      }
      if (value == null) {
        value = loader.get();
        LOADS.incrementAndGet();
      }
      return value;
    }
  }

  synchronized void close() {
    closed = true;
    T v = value;
    value = null;
    if (v != null) {
      try {
        v.close();
      } catch (Exception e) {
        throw new BenchmarkException("cannot close a metric's network: " + e.getMessage(), e);
      }
    }
  }
}
