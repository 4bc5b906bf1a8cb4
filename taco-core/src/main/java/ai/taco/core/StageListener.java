package ai.taco.core;

/**
 * Profiling hook of {@link TacoCodec}: told the name of each coding stage as it starts (encode: {@code gA}, {@code
 * hyper}, {@code context}; decode: {@code hyper}, {@code context}, {@code gS}), {@code done} at the end, and each step
 * of gA (encode) or gS (decode) as it finishes, e.g. {@code gA.4 Conv}. On the CPU the time since the previous call is
 * that stage's or step's cost; on a GPU the operations may still be running. Correctness never depends on a listener.
 */
@FunctionalInterface
public interface StageListener {
  /** Ignores every event. */
  StageListener NONE = stage -> {};

  void stage(String name);

  /** After each step of gA or gS. */
  default void step(String name) {}
}
