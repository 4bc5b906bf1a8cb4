package ai.taco.eval.bench;

import java.util.List;

/** {@code taco eval --resume} on a results folder whose recorded configuration ({@link RunManifest}) differs. */
public final class ManifestMismatchException extends BenchmarkException {
  private static final long serialVersionUID = 1L;

  private final List<String> differences;

  public ManifestMismatchException(String message, List<String> differences) {
    super(message);
    this.differences = List.copyOf(differences);
  }

  /** One line per differing entry, e.g. {@code codecs."TACO a.pth.tar".weights_sha256: run.json has …, this run …}. */
  public List<String> differences() {
    return differences;
  }
}
