package ai.taco.core.transform;

/**
 * Told the name of each gA/gS step as it finishes (e.g. {@code gA.4 Conv}), for per-layer profiling
 * ({@code taco bench --layers}). On the CPU every operation has completed when a step returns, so the time between two
 * calls is that step's cost.
 */
@FunctionalInterface
public interface StepObserver {
  StepObserver NONE = step -> {};

  void stepDone(String step);
}
