package ai.taco.core.latent;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.StateDict;
import ai.taco.core.nn.NamedParameters;
import ai.taco.core.transform.HyperAnalysis;
import ai.taco.core.transform.HyperSynthesis;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The hyperprior of Ballé et al. 2018 as TACO uses it: hA (y → z), the factorized {@link EntropyBottleneck} that
 * codes z, and hS (ẑ → the hyper parameters [B,2M,h,w] the context model starts from). hA and hS keep their parameters
 * in the model's one {@link NamedParameters}; the bottleneck's own parameters and CompressAI buffers are exposed under
 * the official {@code entropy_bottleneck.} prefix.
 */
public final class Hyperprior {
  /** State-dict prefix of the entropy bottleneck. */
  static final String EB = "entropy_bottleneck.";

  /**
   * CompressAI buffers of the entropy bottleneck a state dict may carry. They are not loaded: the CDFs are recomputed
   * by {@link #update()} and the rest are constants of the code.
   */
  public static final Set<String> BUFFER_KEYS =
      Set.of(
          EB + "_offset",
          EB + "_quantized_cdf",
          EB + "_cdf_length",
          EB + "target",
          EB + "likelihood_lower_bound.bound");

  private final HyperAnalysis hA;
  private final HyperSynthesis hS;
  private EntropyBottleneck entropyBottleneck;
  private final int channels;

  /** Declares hA and hS in {@code store} (official order: h_a, then h_s); {@code n}, {@code m}: TacoConfig's N, M. */
  public Hyperprior(NamedParameters store, int n, int m) {
    channels = n;
    hA = new HyperAnalysis(store, n, m);
    hS = new HyperSynthesis(store, n, m);
  }

  /** hA, for per-layer parity tests. */
  public HyperAnalysis hA() {
    return hA;
  }

  /** hS, for per-layer parity tests. */
  public HyperSynthesis hS() {
    return hS;
  }

  /** Expected shapes of the bottleneck's state-dict entries (with prefix). */
  public Map<String, long[]> bottleneckShapes() {
    Map<String, long[]> out = new LinkedHashMap<>();
    EntropyBottleneck.shapes(channels).forEach((k, v) -> out.put(EB + k, v));
    return out;
  }

  /** Loads the bottleneck's parameters from an official state dict (already checked by the caller). */
  public void loadBottleneck(Map<String, HostTensor> stateDict, NDManager manager) {
    entropyBottleneck = EntropyBottleneck.load(channels, StateDict.withPrefix(stateDict, EB), manager);
  }

  /** A freshly initialised bottleneck (CompressAI's initialisers). */
  public void createBottleneck(NDManager manager, long seed) {
    entropyBottleneck = EntropyBottleneck.create(channels, manager, seed);
  }

  /** The bottleneck's parameters under their official names. */
  public Map<String, NDArray> parameters() {
    Map<String, NDArray> out = new LinkedHashMap<>();
    entropyBottleneck.parameters().forEach((k, v) -> out.put(EB + k, v));
    return out;
  }

  /** The bottleneck's state-dict entries (parameters and CompressAI buffers). */
  public Map<String, HostTensor> stateDict() {
    Map<String, HostTensor> out = new LinkedHashMap<>();
    entropyBottleneck.stateDict().forEach((k, v) -> out.put(EB + k, v));
    return out;
  }

  /** Rebuilds the bottleneck's CDF tables from the current quantiles (CompressAI {@code update(force=True)}). */
  public void update() {
    entropyBottleneck.update();
  }

  /** The bottleneck's auxiliary loss (fits the quantiles). */
  public NDArray auxLoss() {
    return entropyBottleneck.loss();
  }

  /**
   * Training/evaluation pass: z, its likelihoods (noisy in {@code mode} NOISE, rounded in DEQUANTIZE), ẑ with a
   * straight-through rounding around the medians (official TACO feeds that to hS) and the hyper parameters.
   */
  public record Forward(NDArray z, NDArray zHat, NDArray zLikelihoods, NDArray params) {}

  public Forward forward(NDArray y, Quantization mode) {
    NDArray z = hA.forward(y);
    NDList zOut = entropyBottleneck.forward(z, mode);
    NDArray medians = entropyBottleneck.medians().reshape(1, -1, 1, 1);
    NDArray zHat = GaussianConditional.quantize(z, Quantization.STE, medians);
    // One pass over the whole map: the banded pass writes into its output in place, which autograd cannot follow.
    return new Forward(z, zHat, zOut.get(1), hS.forward(zHat, null));
  }

  /** The coded z: its string, latent size, symbols in coding order (channel-major) and the decoder-side parameters. */
  public record Coded(byte[] zString, int zHeight, int zWidth, int[] zSymbols, NDArray params) {}

  /** Codes z = hA(y) and returns the hyper parameters exactly as the decoder will compute them (from decoded ẑ). */
  public Coded compress(NDArray y, NDManager manager) {
    NDArray z = hA.forward(y);
    int zh = (int) z.getShape().get(2);
    int zw = (int) z.getShape().get(3);
    byte[] zString = entropyBottleneck.compress(z)[0];
    int[] symbols = symbols(z.toFloatArray(), zh * zw);
    NDArray zHat = entropyBottleneck.decompress(new byte[][] {zString}, zh, zw, manager);
    return new Coded(zString, zh, zw, symbols, hS.forward(zHat));
  }

  /** The decoded z symbols (channel-major) and the hyper parameters. */
  public record Decoded(int[] zSymbols, NDArray params) {}

  public Decoded decompress(byte[] zString, int zHeight, int zWidth, NDManager manager) {
    NDArray zHat = entropyBottleneck.decompress(new byte[][] {zString}, zHeight, zWidth, manager);
    // ẑ = symbol + median in float32, so rint(ẑ - median) gives the symbol back exactly.
    int[] symbols = symbols(zHat.toFloatArray(), zHeight * zWidth);
    return new Decoded(symbols, hS.forward(zHat));
  }

  /** rint(z - median) per channel: the bottleneck's symbols, channel-major. */
  private int[] symbols(float[] z, int spatial) {
    float[] medians = entropyBottleneck.medianValues();
    int[] out = new int[z.length];
    for (int i = 0; i < z.length; i++) {
      out[i] = (int) Math.rint(z[i] - medians[i / spatial]);
    }
    return out;
  }
}
