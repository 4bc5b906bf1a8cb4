package ai.taco.core.latent;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.taco.core.nn.Scalars;
import ai.taco.entropy.CdfTables;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.GZIPInputStream;

/**
 * Gaussian conditional entropy model (Ballé et al. 2018), as CompressAI 1.2.6 {@code GaussianConditional} with the TACO
 * scale table: likelihoods of quantized latents given per-element scales and means, the index of each scale in the
 * table, symbol quantization, and the quantized CDF tables the rANS coder takes.
 *
 * <p>The scale table and its CDFs are FORMAT CONSTANTS ({@code ScaleTable} in the API names the variant): CompressAI
 * computes them at run time with platform float math, and PyTorch 1.x and 2.x disagree on rows 46 and 57, so both
 * variants are shipped as resources generated once from the reference outputs (docs/bitstream.md) and read here, once
 * per variant per JVM, including the rANS coder's {@link CdfTables}.
 *
 * <p>Resource layout ({@code scale_table_<id>.bin.gz}): gzip of big-endian int32s: magic {@link #RESOURCE_MAGIC}
 * ("TCST"), version 1, n, n float32 bit patterns (scales), n offsets, n cdf lengths, then each CDF row as its first
 * value followed by successive differences.
 *
 * <p>Immutable and thread-safe. NDArray results attach to the manager of their first operand: call the NDArray methods
 * inside an {@code NDScope} or a per-call manager.
 */
public final class GaussianConditional {
  /** Likelihood floor: CompressAI {@code EntropyModel(likelihood_bound=1e-9)}. */
  public static final float LIKELIHOOD_BOUND = 1e-9f;

  /** Number of scale levels ({@code get_scale_table(0.11, 256, 64)} in TACO's {@code utils/func.py}). */
  public static final int LEVELS = 64;

  /** Lower bound on scales: CompressAI {@code GaussianConditional(scale_bound=0.11)}, equal to the first entry. */
  public static final float SCALE_BOUND = 0.11f;

  /** The variant TACO's official code and checkpoints use (the API's default {@code ScaleTable}). */
  public static final String DEFAULT_TABLE = "torch1";

  static final int RESOURCE_MAGIC = 0x54435354;
  static final int RESOURCE_VERSION = 1;

  /** {@code -(2**-0.5)} of CompressAI's {@code _standardized_cumulative}, as the float32 the tensor op uses. */
  private static final float NEG_INV_SQRT2_F = (float) -Math.sqrt(0.5);

  /** Each variant's tables, read from its resource once per JVM. */
  private static final Map<String, Tables> TABLES = new ConcurrentHashMap<>();

  private final Tables tables;

  /** With the default (PyTorch 1) table. */
  public GaussianConditional() {
    this(DEFAULT_TABLE);
  }

  /** With the scale table named {@code tableId} ({@code torch1} or {@code torch2}, the API's {@code ScaleTable.id()}). */
  public GaussianConditional(String tableId) {
    this.tables = TABLES.computeIfAbsent(tableId, Tables::load);
  }

  /** The table's scales, ascending (a copy). */
  public float[] scales() {
    return tables.scales.clone();
  }

  /** Symbol offset of each row (= -ceil(scale * 6.109...)), a copy. */
  public int[] offsets() {
    return tables.offsets.clone();
  }

  /** Length of each CDF row (= pmf length + 2), a copy. */
  public int[] cdfLengths() {
    return tables.cdfLengths.clone();
  }

  /** The quantized CDFs as the rANS coder takes them (shared, immutable; built once per variant). */
  public CdfTables cdfTables() {
    return tables.cdfTables;
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
    NDArray s = LowerBound.apply(scales, SCALE_BOUND, negativeUpstream);
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
    NDArray s = scales.maximum(SCALE_BOUND).toType(DataType.FLOAT64, false);
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
    float[] t = tables.scales;
    int last = t.length - 1;
    int[] out = new int[scales.length];
    for (int i = 0; i < scales.length; i++) {
      float s = scales[i];
      // torch.max(NaN, bound) is NaN and NaN <= s is false: NaN maps to the last index, as in the reference.
      if (Float.isNaN(s)) {
        out[i] = last;
        continue;
      }
      s = Math.max(s, SCALE_BOUND);
      // The table ascends strictly (checked at load), so the entries >= s are t[first..]: the count above is
      // last - first, the index is first (the first entry >= s, last if none). A binary search: 6 comparisons instead
      // of 63, for an index per latent (0.5 M for a Kodak image) in the encoder and the decoder.
      int lo = 0;
      int hi = last;
      while (lo < hi) {
        int mid = (lo + hi) >>> 1;
        if (s <= t[mid]) {
          hi = mid;
        } else {
          lo = mid + 1;
        }
      }
      out[i] = lo;
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

  /** One variant's decoded resource: immutable, never handed out without copying. */
  private record Tables(float[] scales, int[] offsets, int[] cdfLengths, CdfTables cdfTables) {
    static Tables load(String id) {
      String name = "scale_table_" + id + ".bin.gz";
      try (InputStream in = GaussianConditional.class.getResourceAsStream(name)) {
        if (in == null) {
          throw new IllegalArgumentException("unknown scale table '" + id + "' (no resource " + name + ")");
        }
        return read(new DataInputStream(new GZIPInputStream(in)));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read scale table resource " + name, e);
      }
    }

    private static Tables read(DataInputStream in) throws IOException {
      if (in.readInt() != RESOURCE_MAGIC || in.readInt() != RESOURCE_VERSION) {
        throw new IOException("bad scale table resource header");
      }
      int n = in.readInt();
      if (n != LEVELS) {
        throw new IOException("scale table resource holds " + n + " levels, expected " + LEVELS);
      }
      float[] scales = new float[n];
      int[] offsets = new int[n];
      int[] lengths = new int[n];
      for (int i = 0; i < n; i++) {
        scales[i] = Float.intBitsToFloat(in.readInt());
        // buildIndexes searches the table: its scales must ascend strictly (NaN fails this too).
        if (i > 0 && !(scales[i - 1] < scales[i])) {
          throw new IOException("scale table resource is not strictly ascending at level " + i);
        }
      }
      for (int i = 0; i < n; i++) {
        offsets[i] = in.readInt();
      }
      for (int i = 0; i < n; i++) {
        lengths[i] = in.readInt();
      }
      int[][] cdfs = new int[n][];
      for (int i = 0; i < n; i++) {
        int[] row = new int[lengths[i]];
        int acc = 0;
        for (int j = 0; j < row.length; j++) {
          acc += in.readInt();
          row[j] = acc;
        }
        cdfs[i] = row;
      }
      return new Tables(scales, offsets, lengths, CdfTables.of(cdfs, offsets));
    }
  }
}
