package ai.taco.core.latent;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.taco.core.error.WeightsException;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.StateDict;
import ai.taco.entropy.CdfTables;
import ai.taco.entropy.EntropyCodingException;
import ai.taco.entropy.QuantizedCdf;
import ai.taco.entropy.RansDecoder;
import ai.taco.entropy.RansEncoder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Factorized prior (Ballé et al. 2018, "entropy bottleneck"), as CompressAI 1.2.6 {@code EntropyBottleneck(channels)}
 * with its defaults: filters (3, 3, 3, 3), init_scale 10, tail_mass 1e-9, likelihood bound 1e-9.
 *
 * <p>Parameters carry the official names ({@code _matrix0..4}, {@code _bias0..4}, {@code _factor0..3},
 * {@code quantiles}) and are plain NDArrays that a trainer may mark {@code setRequiresGradient(true)} and update in
 * place. The CDF tables are computed from them by {@link #update()} exactly as CompressAI does (official checkpoints
 * carry no tables).
 *
 * <p>Thread safety: forward, likelihood, loss and the coding methods only read the parameters; {@link #update()} swaps
 * an immutable table snapshot. NDArray results attach to the manager of their first operand, which for several ops is a
 * parameter: call the NDArray methods inside an {@code NDScope} (or detach the results) so nothing accumulates.
 */
public final class EntropyBottleneck {
  /** CompressAI default {@code filters=(3, 3, 3, 3)}: widths of the hidden layers of the cumulative density. */
  static final int[] FILTERS = {3, 3, 3, 3};
  /** CompressAI default {@code init_scale=10}: initial quantile range and density scale. */
  static final double INIT_SCALE = 10;
  /** CompressAI default {@code tail_mass=1e-9}: probability mass outside the coded range. */
  static final double TAIL_MASS = 1e-9;
  /** Likelihood floor: CompressAI {@code EntropyModel(likelihood_bound=1e-9)}. */
  public static final float LIKELIHOOD_BOUND = 1e-9f;
  /** CompressAI {@code entropy_coder_precision=16}. */
  static final int PRECISION = 16;

  private final int channels;
  private final NDArray[] matrices = new NDArray[FILTERS.length + 1];
  private final NDArray[] biases = new NDArray[FILTERS.length + 1];
  private final NDArray[] factors = new NDArray[FILTERS.length];
  private final NDArray quantiles;
  /** {@code [-t, 0, t]} with {@code t = log(2/tail_mass - 1)} (numpy float64, stored as float32 like the buffer). */
  private final float[] target;

  private volatile CdfTables tables;

  private EntropyBottleneck(int channels, Map<String, NDArray> params) {
    this.channels = channels;
    for (int i = 0; i < matrices.length; i++) {
      matrices[i] = params.get("_matrix" + i);
      biases[i] = params.get("_bias" + i);
      if (i < factors.length) {
        factors[i] = params.get("_factor" + i);
      }
    }
    quantiles = params.get("quantiles");
    float t = (float) Math.log(2 / TAIL_MASS - 1);
    target = new float[] {-t, 0f, t};
  }

  /** Official parameter names in registration order. */
  public static List<String> parameterNames() {
    List<String> names = new ArrayList<>();
    for (int i = 0; i <= FILTERS.length; i++) {
      names.add("_matrix" + i);
      names.add("_bias" + i);
      if (i < FILTERS.length) {
        names.add("_factor" + i);
      }
    }
    names.add("quantiles");
    return names;
  }

  /** Parameter name to shape for {@code channels} channels (keys without the module prefix). */
  public static Map<String, long[]> shapes(int channels) {
    Map<String, long[]> m = new LinkedHashMap<>();
    int[] f = widths();
    for (int i = 0; i <= FILTERS.length; i++) {
      m.put("_matrix" + i, new long[] {channels, f[i + 1], f[i]});
      m.put("_bias" + i, new long[] {channels, f[i + 1], 1});
      if (i < FILTERS.length) {
        m.put("_factor" + i, new long[] {channels, f[i + 1], 1});
      }
    }
    m.put("quantiles", new long[] {channels, 1, 3});
    return m;
  }

  /** Buffers of the official state_dict that are not parameters (recomputed here, so ignored on load). */
  public static boolean isBuffer(String key) {
    return key.equals("_offset")
        || key.equals("_quantized_cdf")
        || key.equals("_cdf_length")
        || key.equals("target")
        || key.equals("likelihood_lower_bound.bound");
  }

  private static int[] widths() {
    int[] f = new int[FILTERS.length + 2];
    f[0] = 1;
    System.arraycopy(FILTERS, 0, f, 1, FILTERS.length);
    f[f.length - 1] = 1;
    return f;
  }

  /**
   * Creates the model from its state dict entries (keys without the {@code entropy_bottleneck.} prefix, e.g. {@code
   * StateDict.withPrefix(weights, "entropy_bottleneck.")}). Missing, unexpected or mis-shaped keys throw one {@link
   * ai.taco.core.error.WeightsException} listing all of them; the buffers ({@link #isBuffer}) may be present and are
   * ignored. Tables are not computed until {@link #update()}.
   *
   * @param manager owns the parameter arrays
   */
  public static EntropyBottleneck load(int channels, Map<String, HostTensor> weights, NDManager manager) {
    StateDict.check("entropy_bottleneck", shapes(channels), weights, EntropyBottleneck::isBuffer);
    Map<String, NDArray> params = new LinkedHashMap<>();
    for (String name : parameterNames()) {
      NDArray a = weights.get(name).toNDArray(manager);
      a.setName(name);
      params.put(name, a);
    }
    return new EntropyBottleneck(channels, params);
  }

  /**
   * A freshly initialised model as CompressAI's constructor makes it: {@code _matrix_i} filled with {@code
   * log(expm1(1 / scale / filters[i+1]))} where {@code scale = init_scale^(1/5)}, {@code _bias_i ~ U(-0.5, 0.5)},
   * {@code _factor_i = 0}, quantiles {@code [-10, 0, 10]} per channel. The random stream is {@code SplittableRandom(seed)}
   * (not torch's), so only the distribution matches.
   */
  public static EntropyBottleneck create(int channels, NDManager manager, long seed) {
    java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
    int[] f = widths();
    double scale = Math.pow(INIT_SCALE, 1.0 / (FILTERS.length + 1));
    Map<String, NDArray> params = new LinkedHashMap<>();
    for (int i = 0; i <= FILTERS.length; i++) {
      int n = channels * f[i + 1] * f[i];
      float[] m = new float[n];
      java.util.Arrays.fill(m, (float) Math.log(Math.expm1(1 / scale / f[i + 1])));
      params.put("_matrix" + i, manager.create(m, new Shape(channels, f[i + 1], f[i])));
      float[] b = new float[channels * f[i + 1]];
      for (int j = 0; j < b.length; j++) {
        b[j] = (float) (random.nextDouble() - 0.5);
      }
      params.put("_bias" + i, manager.create(b, new Shape(channels, f[i + 1], 1)));
      if (i < FILTERS.length) {
        params.put("_factor" + i, manager.zeros(new Shape(channels, f[i + 1], 1)));
      }
    }
    float[] q = new float[channels * 3];
    for (int c = 0; c < channels; c++) {
      q[3 * c] = (float) -INIT_SCALE;
      q[3 * c + 2] = (float) INIT_SCALE;
    }
    params.put("quantiles", manager.create(q, new Shape(channels, 1, 3)));
    params.forEach((k, v) -> v.setName(k));
    return new EntropyBottleneck(channels, params);
  }

  /**
   * The official {@code state_dict()} entries in CompressAI's order (keys without the module prefix): the parameters,
   * then {@code _offset}, {@code _quantized_cdf} (rows zero-padded to the longest), {@code _cdf_length} (all three
   * empty until {@link #update()}, as in official training checkpoints), {@code target} and {@code
   * likelihood_lower_bound.bound}.
   */
  public Map<String, HostTensor> stateDict() {
    Map<String, HostTensor> out = new LinkedHashMap<>();
    parameters().forEach((k, v) -> out.put(k, HostTensor.fromNDArray(v)));
    CdfTables t = tables;
    if (t == null) {
      out.put("_offset", HostTensor.ofInts(new int[0], 0));
      out.put("_quantized_cdf", HostTensor.ofInts(new int[0], 0));
      out.put("_cdf_length", HostTensor.ofInts(new int[0], 0));
    } else {
      int n = t.size();
      int[] offsets = new int[n];
      int[] lengths = new int[n];
      int width = 0;
      for (int c = 0; c < n; c++) {
        offsets[c] = t.offset(c);
        lengths[c] = t.cdfLength(c);
        width = Math.max(width, lengths[c]);
      }
      int[] padded = new int[n * width];
      for (int c = 0; c < n; c++) {
        System.arraycopy(t.cdf(c), 0, padded, c * width, lengths[c]);
      }
      out.put("_offset", HostTensor.ofInts(offsets, n));
      out.put("_quantized_cdf", HostTensor.ofInts(padded, n, width));
      out.put("_cdf_length", HostTensor.ofInts(lengths, n));
    }
    out.put("target", HostTensor.ofFloats(target.clone(), 3));
    out.put("likelihood_lower_bound.bound", HostTensor.ofFloats(new float[] {LIKELIHOOD_BOUND}, 1));
    return out;
  }

  public int channels() {
    return channels;
  }

  /** The live parameter arrays by official name (unmodifiable map; the arrays themselves may be updated in place). */
  public Map<String, NDArray> parameters() {
    Map<String, NDArray> m = new LinkedHashMap<>();
    for (int i = 0; i < matrices.length; i++) {
      m.put("_matrix" + i, matrices[i]);
      m.put("_bias" + i, biases[i]);
      if (i < factors.length) {
        m.put("_factor" + i, factors[i]);
      }
    }
    m.put("quantiles", quantiles);
    return Collections.unmodifiableMap(m);
  }

  /** {@code quantiles[:, :, 1:2]}, shape [C, 1, 1]; differentiable w.r.t. the quantiles. */
  public NDArray medians() {
    return quantiles.get(new NDIndex(":, :, 1:2"));
  }

  /**
   * CompressAI {@code forward}: {@code [zHat, likelihoods]} for z of shape [B, C, ...].
   *
   * @param mode {@link Quantization#NOISE} in training (what CompressAI and the official TACO use for the
   *     likelihoods; TACO then feeds {@code ste_round(z - m) + m} to h_s, see {@link #quantize}), or {@link
   *     Quantization#DEQUANTIZE} in evaluation ({@code round(z - m) + m}); {@link Quantization#STE} is also accepted
   */
  public NDList forward(NDArray z, Quantization mode) {
    Shape shape = z.getShape();
    int[] perm = swapFirstTwo(shape.dimension());
    NDArray x = z.transpose(perm);
    Shape permuted = x.getShape();
    NDArray values = x.reshape(channels, 1, -1);
    NDArray outputs = GaussianConditional.quantize(values, mode, medians());
    NDArray likelihood = LowerBound.apply(likelihood(outputs, false), LIKELIHOOD_BOUND, null);
    return new NDList(
        outputs.reshape(permuted).transpose(perm), likelihood.reshape(permuted).transpose(perm));
  }

  /**
   * Quantizes z around the medians: {@code mode} STE gives TACO's {@code ste_round(z - m) + m} (the h_s input in
   * training), DEQUANTIZE gives {@code round(z - m) + m}.
   */
  public NDArray quantize(NDArray z, Quantization mode) {
    NDArray m = medians().reshape(channelShape(z.getShape().dimension()));
    return GaussianConditional.quantize(z, mode, m);
  }

  private Shape channelShape(int dims) {
    long[] s = new long[dims];
    java.util.Arrays.fill(s, 1);
    s[1] = channels;
    return new Shape(s);
  }

  private static int[] swapFirstTwo(int dims) {
    int[] perm = new int[dims];
    for (int i = 0; i < dims; i++) {
      perm[i] = i;
    }
    perm[0] = 1;
    perm[1] = 0;
    return perm;
  }

  /** {@code sigmoid(upper) - sigmoid(lower)} for inputs [C, 1, N] (CompressAI {@code _likelihood}), not bounded. */
  NDArray likelihood(NDArray inputs, boolean stopGradient) {
    NDList lu = lowerUpper(inputs, stopGradient);
    return Activation.sigmoid(lu.get(1)).sub(Activation.sigmoid(lu.get(0)));
  }

  private NDList lowerUpper(NDArray inputs, boolean stopGradient) {
    NDArray lower = logitsCumulative(inputs.sub(0.5f), stopGradient);
    NDArray upper = logitsCumulative(inputs.add(0.5f), stopGradient);
    return new NDList(lower, upper);
  }

  /** The cumulative density's logits (CompressAI {@code _logits_cumulative}), inputs [C, 1, N] -> [C, 1, N]. */
  NDArray logitsCumulative(NDArray inputs, boolean stopGradient) {
    NDArray logits = inputs;
    for (int i = 0; i < matrices.length; i++) {
      NDArray matrix = stopGradient ? matrices[i].stopGradient() : matrices[i];
      logits = Activation.softPlus(matrix).matMul(logits);
      NDArray bias = stopGradient ? biases[i].stopGradient() : biases[i];
      logits = logits.add(bias);
      if (i < factors.length) {
        NDArray factor = stopGradient ? factors[i].stopGradient() : factors[i];
        logits = logits.add(factor.tanh().mul(logits.tanh()));
      }
    }
    return logits;
  }

  /**
   * Auxiliary loss that trains the quantiles (CompressAI {@code loss()}): {@code Σ |logits(quantiles) - target|}, with
   * the density's own parameters detached. Scalar, differentiable w.r.t. {@code quantiles}.
   */
  public NDArray loss() {
    NDArray logits = logitsCumulative(quantiles, true);
    NDArray t = logits.getManager().create(target);
    return logits.sub(t).abs().sum();
  }

  /**
   * Most pmf entries of one channel: a 16-bit CDF ({@link #PRECISION}) can give at most 2^16 symbols (tail included)
   * a non-zero frequency.
   */
  static final int MAX_PMF_LENGTH = (1 << PRECISION) - 1;

  /**
   * Recomputes the CDF tables from the current parameters (CompressAI {@code update(force=True)}): per channel the
   * integer range around the median covered by the quantiles, the discretised density on it in float32, and the tail
   * mass, quantized to 16-bit CDFs. Call after loading and after training steps.
   */
  public synchronized void update() {
    float[] q = quantiles.toFloatArray(); // [C, 1, 3]
    int[] offsets = new int[channels];
    int[] pmfLengths = new int[channels];
    float[] pmfStart = new float[channels];
    int maxLength = 0;
    for (int c = 0; c < channels; c++) {
      float median = q[3 * c + 1];
      // float32 differences, then ceil and clamp at 0, as torch does on the float32 quantiles.
      float below = median - q[3 * c];
      float above = q[3 * c + 2] - median;
      // Damaged or foreign weights: NaN quantiles would give an invalid pmf, a huge range an allocation of
      // channels x range floats (and a CDF that cannot give every symbol a 16-bit frequency).
      if (!Float.isFinite(below) || !Float.isFinite(above) || below + above + 2 > MAX_PMF_LENGTH) {
        throw new WeightsException(String.format(
            "entropy_bottleneck.quantiles of channel %d (%s, %s, %s) are not finite or span more than %d values:"
                + " damaged or foreign weights", c, q[3 * c], median, q[3 * c + 2], MAX_PMF_LENGTH));
      }
      int minima = Math.max((int) Math.ceil(below), 0);
      int maxima = Math.max((int) Math.ceil(above), 0);
      offsets[c] = -minima;
      pmfStart[c] = median - minima;
      pmfLengths[c] = maxima + minima + 1;
      maxLength = Math.max(maxLength, pmfLengths[c]);
    }
    float[] samples = new float[channels * maxLength];
    for (int c = 0; c < channels; c++) {
      for (int j = 0; j < maxLength; j++) {
        samples[c * maxLength + j] = (float) j + pmfStart[c];
      }
    }
    float[] pmf;
    float[] tails;
    // Every intermediate (some attach to the parameters' manager) is released when the scope closes.
    try (NDScope scope = new NDScope()) {
      scope.suppressNotUsedWarning();
      NDArray s = quantiles.getManager().create(samples, new Shape(channels, 1, maxLength));
      NDList lu = lowerUpper(s, true);
      NDArray lower = lu.get(0);
      NDArray upper = lu.get(1);
      pmf = Activation.sigmoid(upper).sub(Activation.sigmoid(lower)).toFloatArray();
      // tail_mass = sigmoid(lower[:, 0, :1]) + sigmoid(-upper[:, 0, -1:]): the reference takes the LAST padded sample
      // (index max_length-1) for every channel, not the channel's own pmf_length-1.
      NDArray lowerFirst = lower.get(new NDIndex(":, 0, :1"));
      NDArray upperLast = upper.get(new NDIndex(":, 0, -1:"));
      tails = Activation.sigmoid(lowerFirst).add(Activation.sigmoid(upperLast.neg())).toFloatArray();
    }
    int[][] cdfs = new int[channels][];
    for (int c = 0; c < channels; c++) {
      float[] p = new float[pmfLengths[c] + 1];
      System.arraycopy(pmf, c * maxLength, p, 0, pmfLengths[c]);
      p[pmfLengths[c]] = tails[c];
      try {
        cdfs[c] = QuantizedCdf.fromPmf(p, PRECISION);
      } catch (EntropyCodingException e) {
        throw new WeightsException("entropy_bottleneck channel " + c + ": the weights give an invalid density ("
            + e.getMessage() + "): damaged or foreign weights", e);
      }
    }
    tables = CdfTables.of(cdfs, offsets);
  }

  /** The tables of the last {@link #update()} (CDF length = pmf length + 2, offset = -minima). */
  public CdfTables tables() {
    CdfTables t = tables;
    if (t == null) {
      throw new IllegalStateException("EntropyBottleneck CDF tables not computed: call update() first");
    }
    return t;
  }

  /** Medians as float32 host values, one per channel. */
  public float[] medianValues() {
    float[] q = quantiles.toFloatArray();
    float[] m = new float[channels];
    for (int c = 0; c < channels; c++) {
      m[c] = q[3 * c + 1];
    }
    return m;
  }

  /**
   * CompressAI {@code compress(z)}: one rANS string per batch item of z [B, C, H, W]; symbols {@code round(z - median)}
   * in float32, the CDF of each element is its channel's.
   */
  public byte[][] compress(NDArray z) {
    Shape shape = z.getShape();
    if (shape.dimension() < 2 || shape.get(1) != channels) {
      throw new IllegalArgumentException("expected [B, " + channels + ", ...] latents, got " + shape);
    }
    int batch = (int) shape.get(0);
    int perItem = (int) (shape.size() / batch);
    int spatial = perItem / channels;
    float[] values = z.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
    float[] medians = medianValues();
    CdfTables t = tables();
    byte[][] strings = new byte[batch][];
    int[] symbols = new int[perItem];
    int[] indexes = new int[perItem];
    for (int b = 0; b < batch; b++) {
      for (int i = 0; i < perItem; i++) {
        int c = i / spatial;
        indexes[i] = c;
        symbols[i] = (int) Math.rint(values[b * perItem + i] - medians[c]);
      }
      strings[b] = RansEncoder.encode(symbols, indexes, t);
    }
    return strings;
  }

  /**
   * CompressAI {@code decompress(strings, (height, width))}: z_hat [len(strings), C, height, width] = decoded symbols
   * + medians (float32).
   *
   * @throws ai.taco.entropy.EntropyCodingException if a string is truncated or corrupt, or not used up exactly
   */
  public NDArray decompress(byte[][] strings, int height, int width, NDManager manager) {
    if (height <= 0 || width <= 0) {
      throw new IllegalArgumentException("latent size must be positive: " + height + "x" + width);
    }
    long[] size = {height, width};
    int spatial = Math.multiplyExact(height, width);
    int perItem = Math.multiplyExact(spatial, channels);
    int[] indexes = new int[perItem];
    for (int i = 0; i < perItem; i++) {
      indexes[i] = i / spatial;
    }
    float[] medians = medianValues();
    CdfTables t = tables();
    float[] out = new float[Math.multiplyExact(perItem, strings.length)];
    for (int b = 0; b < strings.length; b++) {
      RansDecoder decoder = new RansDecoder(strings[b]);
      int[] symbols = decoder.decodeStream(indexes, t);
      // A well-formed string is used up exactly by its symbols (state back at its initial value, every word read).
      // The reference does not check this; corrupt strings, or one decoded at another latent size, mostly fail it.
      if (!decoder.isComplete()) {
        throw new EntropyCodingException("corrupt z string" + (strings.length > 1 ? " " + b : "") + ": the rANS stream"
            + " is not used up exactly by the " + perItem + " symbols of a " + height + "x" + width + " latent");
      }
      for (int i = 0; i < perItem; i++) {
        out[b * perItem + i] = (float) symbols[i] + medians[i / spatial];
      }
    }
    long[] shape = new long[size.length + 2];
    shape[0] = strings.length;
    shape[1] = channels;
    System.arraycopy(size, 0, shape, 2, size.length);
    return manager.create(out, new Shape(shape));
  }
}
