package ai.taco.metrics;

import ai.taco.core.tensor.HostTensor;
import java.util.Map;

/** Test access, from other packages, to the random PieAPP weights of the reference data. */
public final class PieappTesting {
  private PieappTesting() {}

  /** See {@link PieappRandomWeights}. */
  public static Map<String, HostTensor> randomWeights() {
    return PieappRandomWeights.stateDict();
  }
}
