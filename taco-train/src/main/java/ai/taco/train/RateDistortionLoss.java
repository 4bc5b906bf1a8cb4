package ai.taco.train;

import ai.djl.ndarray.NDArray;
import ai.taco.core.ForwardResult;
import ai.taco.core.nn.Scalars;
import java.util.List;

/**
 * The official {@code RateDistortionLoss} (TACO utils/utils.py):
 *
 * <pre>
 *   bpp  = Σ_{y,z} Σ ln(likelihoods) / (−ln 2 · N·H·W)
 *   loss = λ·255²·MSE(x̂, x) + bpp + k_J·JointImageTextLoss(x̂, x, caption) + k_P·mean LPIPS(x̂, x)
 * </pre>
 *
 * LPIPS and the CLIP towers of the joint term are frozen (their weights never require gradients; the gradient flows
 * through them to x̂). A term whose coefficient is 0 is not computed, as in the official code.
 */
public final class RateDistortionLoss {

  /** 8-bit peak value: the official loss scales the MSE of [0,1] images by 255². */
  static final double PEAK = 255.0;

  /** The joint image-text term as a function of the batch (implemented by JointImageTextLoss). */
  @FunctionalInterface
  public interface JointTerm {
    /** Scalar loss; differentiable with respect to {@code xHat}. */
    NDArray compute(NDArray xHat, NDArray x, List<String> captions);
  }

  /**
   * The perceptual term: per-image LPIPS of (x̂, x), any shape with one value per image (h-metrics' Lpips
   * {@code forward(xHat, x, convention)}, with the input convention chosen by the caller, TACO's quirk included).
   */
  @FunctionalInterface
  public interface PerceptualTerm {
    NDArray compute(NDArray xHat, NDArray x);
  }

  /** The loss and its terms (scalars; {@code lpips}/{@code joint} are null when their coefficient is 0). */
  public record Terms(NDArray loss, NDArray bpp, NDArray mse, NDArray lpips, NDArray joint) {}

  private final double lambda;
  private final double lpipsCoefficient;
  private final PerceptualTerm lpips;
  private final double jointCoefficient;
  private final JointTerm joint;

  /**
   * @param lpips required when {@code lpipsCoefficient > 0}
   * @param joint required when {@code jointCoefficient > 0}
   */
  public RateDistortionLoss(
      double lambda,
      double lpipsCoefficient,
      PerceptualTerm lpips,
      double jointCoefficient,
      JointTerm joint) {
    if (!(lambda >= 0) || !(lpipsCoefficient >= 0) || !(jointCoefficient >= 0)) {
      throw new IllegalArgumentException("loss coefficients must be >= 0");
    }
    if (lpipsCoefficient > 0 && lpips == null) {
      throw new IllegalArgumentException("LPIPS coefficient " + lpipsCoefficient + " > 0 needs LPIPS weights");
    }
    if (jointCoefficient > 0 && joint == null) {
      throw new IllegalArgumentException(
          "joint image-text coefficient " + jointCoefficient + " > 0 needs CLIP weights");
    }
    this.lambda = lambda;
    this.lpipsCoefficient = lpipsCoefficient;
    this.lpips = lpips;
    this.jointCoefficient = jointCoefficient;
    this.joint = joint;
  }

  /** The rate+distortion loss only (k_P = k_J = 0), the form of the golden training signal. */
  public static RateDistortionLoss rateDistortionOnly(double lambda) {
    return new RateDistortionLoss(lambda, 0, null, 0, null);
  }

  public double lambda() {
    return lambda;
  }

  public double lpipsCoefficient() {
    return lpipsCoefficient;
  }

  public double jointCoefficient() {
    return jointCoefficient;
  }

  /** Computes the loss; call inside the GradientCollector to back-propagate it. */
  public Terms compute(ForwardResult out, NDArray x, List<String> captions) {
    long[] s = x.getShape().getShape();
    double numPixels = (double) s[0] * s[2] * s[3];
    double bppScale = -Math.log(2) * numPixels;
    // Scalars.*: float32 like torch (a double operand would promote to float64), and libtorch-owned so the
    // backward pass never reads a scalar the garbage collector has freed (see Scalars).
    NDArray bpp =
        Scalars.div(out.yLikelihoods().log().sum(), bppScale)
            .add(Scalars.div(out.zLikelihoods().log().sum(), bppScale));
    NDArray mse = out.xHat().sub(x).square().mean();
    NDArray loss = Scalars.mul(mse, lambda * PEAK * PEAK).add(bpp);
    NDArray jointValue = null;
    if (jointCoefficient > 0) {
      jointValue = joint.compute(out.xHat(), x, captions);
      loss = loss.add(Scalars.mul(jointValue, jointCoefficient));
    }
    NDArray lpipsValue = null;
    if (lpipsCoefficient > 0) {
      // Official: loss_fn_alex(x_hat, target).mean() — x̂ first.
      lpipsValue = lpips.compute(out.xHat(), x).mean();
      loss = loss.add(Scalars.mul(lpipsValue, lpipsCoefficient));
    }
    return new Terms(loss, bpp, mse, lpipsValue, jointValue);
  }
}
