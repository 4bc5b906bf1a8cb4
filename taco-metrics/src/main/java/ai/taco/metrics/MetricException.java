package ai.taco.metrics;

import ai.taco.core.error.TacoException;

/**
 * A metric cannot be computed for the given input: mismatched shapes, an image too small for MS-SSIM, weights that do
 * not fit the network, unreadable files. The message names the problem.
 */
public class MetricException extends TacoException {
  private static final long serialVersionUID = 1L;

  public MetricException(String message) {
    super(message);
  }

  public MetricException(String message, Throwable cause) {
    super(message, cause);
  }
}
