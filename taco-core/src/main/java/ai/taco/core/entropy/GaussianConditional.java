package ai.taco.core.entropy;

import ai.taco.core.latent.ScaleTable;
import ai.taco.core.nn.Scalars;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.taco.entropy.RansDecoder;
import ai.taco.entropy.RansEncoder;

/**
 * Gaussian conditional entropy model (Ballé et al. 2018), as CompressAI 1.2.6 {@code GaussianConditional} with the TACO
 * scale table: likelihoods of quantized latents given per-element scales and means, the index of each scale in the
 * table, and symbol quantization. The CDF tables are the format constants of {@link ScaleTable}.
 *
 * <p>Immutable and thread-safe. NDArray results attach to the manager of their first operand: call the NDArray methods
 * inside an {@code NDScope} or a per-call manager.
 */
public final class GaussianConditional {
  /** Likelihood floor: CompressAI {@code EntropyModel(likelihood_bound=1e-9)}. */
  public static final float LIKELIHOOD_BOUND = 1e-9f;

  /** {@code -(2**-0.5)} of CompressAI's {@code _standardized_cumulative}, as the float32 the tensor op uses. */
  private static final float NEG_INV_SQRT2_F = (float) -Math.sqrt(0.5);

  private final ScaleTable table;
  /** The table's scales (a private copy: read on every coded element). */
  private final float[] tableScales;

  /** With the default (PyTorch 1) table. */
  public GaussianConditional() {
    this(ScaleTable.defaultTable());
  }

  public GaussianConditional(ScaleTable table) {
    this.table = table;
    this.tableScales = table.scales();
  }

  public ScaleTable scaleTable() {
    return table;
  }

  /**
   * Quantizes {@code y} for the forward pass.
   *
   * @param means may be null (then 0)
   */
  public static NDArray quantize(NDArray y, Quantization mode, NDArray means) {
    switch (mode) {
      case NOISE:
        return y.add(y.getManager().randomUniform(-0.5f, 0.5f, y.getShape(), y.getDataType()));
      case STE:
        {
          // TACO models/taco.py ste_round(x - m) + m, same operation order for the same float result.
          NDArray d = means == null ? y : y.sub(means);
          NDArray r = d.round().sub(d.stopGradient()).add(d);
          return means == null ? r : r.add(means);
        }
      case DEQUANTIZE:
        {
          NDArray d = means == null ? y : y.sub(means);
          NDArray r = d.round();
          return means == null ? r : r.add(means);
        }
      default:
        throw new IllegalArgumentException(String.valueOf(mode));
    }
  }

  /**
   * CompressAI {@code forward}: quantize, then the likelihood of the quantized values.
   *
   * @param means may be null
   * @return {@code [yHat, likelihoods]}
   */
  public NDList forward(NDArray y, NDArray scales, NDArray means, Quantization mode) {
    NDArray yHat = quantize(y, mode, means);
    return new NDList(yHat, likelihood(yHat, scales, means));
  }

  /**
   * Probability mass of the unit-width bin around each value under N(means, scales²): {@code Φ((½-|v|)/s) -
   * Φ((-½-|v|)/s)} with {@code v = values - means}, {@code s = max(scales, 0.11)}, floored at 1e-9. Differentiable.
   *
   * <p>The reference evaluates {@code Φ(x) = ½·erfc(-x/√2)} in float32. DJL has no {@code erfc} and its {@code toType}
   * does not carry gradients, so the VALUE is computed like the reference (argument {@code -x/√2} rounded to float32,
   * {@code erfc = 1 - erf} in float64, each Φ rounded to float32, difference in float32: accurate to ~1e-16 absolute in
   * the tails, far below the 1e-9 floor) and the GRADIENT comes from the same expression in float32 via {@code erf},
   * whose derivative {@code exp(-t²)} has no cancellation. Both lower bounds follow CompressAI's {@code LowerBound}
   * gradient rule assuming the likelihoods feed a rate term {@code -Σ log p} with positive weight (see {@link
   * LowerBound}).
   *
   * @param means may be null
   */
  public NDArray likelihood(NDArray values, NDArray scales, NDArray means) {
    NDArray v = means == null ? values : values.sub(means);
    NDArray negativeUpstream = likelihoodIncreasesWithScale(v.stopGradient().abs(), scales.stopGradient());
    NDArray s = LowerBound.apply(scales, ScaleTable.SCALE_BOUND, negativeUpstream);
    NDArray a = v.abs();
    NDArray upperArg = a.neg().add(0.5f).div(s);
    NDArray lowerArg = a.neg().sub(0.5f).div(s);
    NDArray value =
        standardizedCumulativeValue(upperArg.stopGradient()).sub(standardizedCumulativeValue(lowerArg.stopGradient()));
    NDArray carrier = standardizedCumulative32(upperArg).sub(standardizedCumulative32(lowerArg));
    NDArray likelihood = value.add(carrier.sub(carrier.stopGradient()));
    // The rate loss -log(p) has a negative gradient everywhere, so the likelihood bound always passes it.
    return LowerBound.apply(likelihood, LIKELIHOOD_BOUND, null);
  }

  /** ½·erfc(c·x) with c = -2^-½ as float32 (as the reference's scalar multiply), erfc in float64; no gradient. */
  private static NDArray standardizedCumulativeValue(NDArray x) {
    return x.mul(NEG_INV_SQRT2_F)
        .toType(DataType.FLOAT64, false)
        .erf()
        .neg()
        .add(1.0)
        .mul(0.5)
        .toType(DataType.FLOAT32, false);
  }

  /** ½(1 - erf(c·x)) in float32: used only for its gradient. */
  private static NDArray standardizedCumulative32(NDArray x) {
    return Scalars.mul(Scalars.mul(x, NEG_INV_SQRT2_F).erf().neg().add(1f), 0.5);
  }

  /**
   * True where d p / d s > 0 at the bounded scale, i.e. where the rate loss's gradient w.r.t. the scale is negative.
   * With a = (½-|v|)/s and b = (-½-|v|)/s: dp/ds = (φ(b)·b - φ(a)·a)/s.
   */
  private static NDArray likelihoodIncreasesWithScale(NDArray absV, NDArray scales) {
    NDArray s = scales.maximum(ScaleTable.SCALE_BOUND).toType(DataType.FLOAT64, false);
    NDArray v = absV.toType(DataType.FLOAT64, false);
    NDArray a = v.neg().add(0.5).div(s);
    NDArray b = v.neg().sub(0.5).div(s);
    NDArray pa = a.square().mul(-0.5).exp().mul(a);
    NDArray pb = b.square().mul(-0.5).exp().mul(b);
    return pb.sub(pa).gt(0.0);
  }

  /**
   * CDF table index of each scale, exactly as CompressAI {@code build_indexes}: start from the last index and subtract
   * one for every table entry (except the last) that is {@code >= max(scale, 0.11)}, in float32.
   */
  public int[] buildIndexes(float[] scales) {
    float[] t = tableScales;
    int[] out = new int[scales.length];
    for (int i = 0; i < scales.length; i++) {
      // torch.max(NaN, bound) is NaN and NaN <= s is false: NaN maps to the last index, as in the reference.
      float s = Float.isNaN(scales[i]) ? scales[i] : Math.max(scales[i], ScaleTable.SCALE_BOUND);
      int idx = t.length - 1;
      for (int j = 0; j < t.length - 1; j++) {
        if (s <= t[j]) {
          idx--;
        }
      }
      out[i] = idx;
    }
    return out;
  }

  /**
   * Symbols to entropy-code: {@code round(y - means)} in float32, half to even (CompressAI {@code quantize(y,
   * "symbols", means)}).
   *
   * @param means may be null
   */
  public static int[] quantizeSymbols(float[] y, float[] means) {
    int[] out = new int[y.length];
    for (int i = 0; i < y.length; i++) {
      float d = means == null ? y[i] : y[i] - means[i];
      out[i] = (int) Math.rint(d);
    }
    return out;
  }

  /** Inverse of {@link #quantizeSymbols}: {@code symbols + means} in float32 ({@code means} may be null). */
  public static float[] dequantize(int[] symbols, float[] means) {
    float[] out = new float[symbols.length];
    for (int i = 0; i < symbols.length; i++) {
      out[i] = means == null ? (float) symbols[i] : (float) symbols[i] + means[i];
    }
    return out;
  }

  /**
   * CompressAI {@code compress(y, indexes, means)} for one batch item: {@link #quantizeSymbols} then one rANS string
   * with the CDF of each element chosen by {@code indexes} (from {@link #buildIndexes}).
   *
   * @param means may be null
   */
  public byte[] compress(float[] y, int[] indexes, float[] means) {
    return RansEncoder.encode(quantizeSymbols(y, means), indexes, table.cdfTables());
  }

  /**
   * CompressAI {@code decompress(strings, indexes, means=means)} for one string: decoded symbols + means (float32).
   *
   * @param means may be null
   * @throws ai.taco.entropy.EntropyCodingException if the string is truncated or corrupt
   */
  public float[] decompress(byte[] string, int[] indexes, float[] means) {
    return dequantize(RansDecoder.decode(string, indexes, table.cdfTables()), means);
  }
}
