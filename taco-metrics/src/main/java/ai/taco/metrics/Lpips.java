package ai.taco.metrics;

import ai.taco.core.nn.Scalars;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.pooling.Pool;
import ai.taco.core.error.WeightsException;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.StateDict;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * LPIPS (Zhang et al. 2018), version 0.1 with the AlexNet trunk, as richzhang/PerceptualSimilarity (lpips 0.1.4):
 * {@code (x - shift)/scale} → five AlexNet ReLU features → unit-normalise over channels → squared difference → 1x1
 * "lin" heads → spatial mean → sum over layers.
 *
 * <p>{@link #forward} keeps autograd, so the training loss can back-propagate through it to its inputs; the weights
 * themselves never require gradients. Inputs are NCHW float images in [0,1], read according to an {@link
 * InputConvention}.
 *
 * <p>Weights: the lpips module's whole state dict in lpips key names ({@link #load(Path)}), or the two public files
 * torchvision {@code alexnet-owt-7be5be79.pth} + lpips {@code weights/v0.1/alex.pth} ({@link #load(Path, Path)}).
 */
public final class Lpips implements AutoCloseable {
  /**
   * Smallest image side AlexNet's trunk accepts: conv 11x11/4 (pad 2) then three 3x3/2 max-pools leave at least one
   * pixel only from 31 px on (checked with the golden trunk).
   */
  public static final int MIN_SIDE = 31;


  /**
   * How [0,1] images are fed to the network. Every command and the library default to {@link #TACO_QUIRK} (option
   * value {@code taco}), the official TACO evaluation and training convention; {@link #STANDARD} ({@code standard})
   * is the documented LPIPS use.
   */
  public enum InputConvention {
    /** The documented LPIPS use: [0,1] is mapped to [-1,1] ({@code 2x-1}, i.e. lpips {@code normalize=True}). */
    STANDARD("standard"),
    /**
     * The official TACO code's convention: it passes [0,1] images to LPIPS unchanged (no {@code normalize}), in its
     * evaluation and in its training loss, so its reported LPIPS is the network evaluated on [0,1] inputs.
     */
    TACO_QUIRK("taco");

    /** The default of every command and of the training loss: the paper's convention. */
    public static final InputConvention DEFAULT = TACO_QUIRK;

    private final String id;

    InputConvention(String id) {
      this.id = id;
    }

    /** The option value ({@code --lpips-input}) and the name written in outputs ({@code lpips_input}). */
    public String id() {
      return id;
    }

    /** Parses an option value ({@code taco} or {@code standard}, case-insensitive). */
    public static InputConvention parse(String s) {
      for (InputConvention c : values()) {
        if (c.id.equalsIgnoreCase(s == null ? "" : s.trim())) {
          return c;
        }
      }
      throw new MetricException("--lpips-input must be taco or standard, got '" + s + "'");
    }
  }

  /** lpips ScalingLayer constants (lpips/pretrained_networks... {@code ScalingLayer}: ImageNet stats in [-1,1]). */
  static final float[] SHIFT = {-.030f, -.088f, -.188f};

  static final float[] SCALE = {.458f, .448f, .450f};

  /** lpips {@code normalize_tensor} epsilon. */
  static final float NORM_EPS = 1e-10f;

  /** torchvision AlexNet {@code features} conv indices that lpips keeps in its slices 1..5. */
  static final int[] CONV_INDEX = {0, 3, 6, 8, 10};

  /** Channel counts of the five AlexNet features (and of the lin heads). */
  static final int[] CHANNELS = {64, 192, 384, 256, 256};

  private static final int[] IN_CHANNELS = {3, 64, 192, 384, 256};
  private static final int[] KERNEL = {11, 5, 3, 3, 3};
  private static final int[] STRIDE = {4, 1, 1, 1, 1};
  private static final int[] PAD = {2, 2, 1, 1, 1};

  private final NDManager manager;
  private final NDArray shift;
  private final NDArray scale;
  private final NDArray[] convWeight = new NDArray[5];
  private final NDArray[] convBias = new NDArray[5];
  private final NDArray[] lin = new NDArray[5];

  private Lpips(NDManager manager, Map<String, NDArray> sd) {
    this.manager = manager;
    for (int k = 0; k < 5; k++) {
      String p = "net.slice" + (k + 1) + "." + CONV_INDEX[k] + ".";
      convWeight[k] = sd.get(p + "weight");
      convBias[k] = sd.get(p + "bias");
      lin[k] = sd.get("lin" + k + ".model.1.weight");
    }
    this.shift = sd.get("scaling_layer.shift");
    this.scale = sd.get("scaling_layer.scale");
  }

  /**
   * The lpips state-dict keys and shapes this class reads (heads as {@code lin{k}}; the {@code lins.{k}} aliases are
   * accepted too; {@code scaling_layer.*} may be omitted).
   */
  public static Map<String, long[]> stateDictShapes() {
    Map<String, long[]> m = new LinkedHashMap<>();
    for (int k = 0; k < 5; k++) {
      String p = "net.slice" + (k + 1) + "." + CONV_INDEX[k] + ".";
      m.put(p + "weight", new long[] {CHANNELS[k], IN_CHANNELS[k], KERNEL[k], KERNEL[k]});
      m.put(p + "bias", new long[] {CHANNELS[k]});
      m.put("lin" + k + ".model.1.weight", new long[] {1, CHANNELS[k], 1, 1});
    }
    m.put("scaling_layer.shift", new long[] {1, 3, 1, 1});
    m.put("scaling_layer.scale", new long[] {1, 3, 1, 1});
    return m;
  }

  /** Loads the lpips module's whole state dict (lpips key names; safetensors or torch .pth). */
  public static Lpips load(Path stateDict) {
    return fromStateDict(StateDict.load(stateDict), DataType.FLOAT32);
  }

  /**
   * Loads from the two public files: torchvision's AlexNet ({@code features.N.*} keys; the classifier is ignored) and
   * lpips v0.1 {@code alex.pth} ({@code lin{k}.model.1.weight}). Either order is accepted.
   */
  public static Lpips load(Path first, Path second) {
    Map<String, HostTensor> a = StateDict.load(first);
    Map<String, HostTensor> b = StateDict.load(second);
    boolean aIsTrunk = a.keySet().stream().anyMatch(k -> k.startsWith("features."));
    return fromStateDict(fromTorchvision(aIsTrunk ? a : b, aIsTrunk ? b : a), DataType.FLOAT32);
  }

  /** Builds LPIPS (float32) from an lpips state dict already in memory; see {@link #stateDictShapes()}. */
  public static Lpips fromStateDict(Map<String, HostTensor> stateDict) {
    return fromStateDict(stateDict, DataType.FLOAT32);
  }

  /**
   * Builds LPIPS over an lpips state dict, computing in {@code dataType} (FLOAT32; FLOAT64 for finite-difference
   * checks). Strict: missing, unexpected or mis-shaped keys are all reported in one {@link WeightsException}.
   */
  static Lpips fromStateDict(Map<String, HostTensor> stateDict, DataType dataType) {
    Map<String, HostTensor> sd = new LinkedHashMap<>();
    for (Map.Entry<String, HostTensor> e : stateDict.entrySet()) {
      String k = e.getKey();
      // lpips' state_dict lists the heads twice: as lin{k} and through the ModuleList alias lins.{k}.
      if (k.startsWith("lins.")) {
        sd.putIfAbsent("lin" + k.substring("lins.".length()), e.getValue());
      } else {
        sd.put(k, e.getValue());
      }
    }
    if (!sd.containsKey("scaling_layer.shift") && !sd.containsKey("scaling_layer.scale")) {
      // Buffers fixed in lpips' code; the public alex.pth + torchvision files do not carry them.
      sd.put("scaling_layer.shift", HostTensor.ofFloats(SHIFT, 1, 3, 1, 1));
      sd.put("scaling_layer.scale", HostTensor.ofFloats(SCALE, 1, 3, 1, 1));
    }
    StateDict.check("LPIPS (alex, v0.1)", stateDictShapes(), sd, k -> false);
    NDManager owner = NDManager.newBaseManager();
    Map<String, NDArray> arrays = new LinkedHashMap<>();
    for (Map.Entry<String, HostTensor> e : sd.entrySet()) {
      arrays.put(e.getKey(), e.getValue().toNDArray(owner).toType(dataType, false));
    }
    return new Lpips(owner, arrays);
  }

  /** Maps torchvision {@code features.N.*} to lpips {@code net.sliceK.N.*} and merges the lin heads. */
  static Map<String, HostTensor> fromTorchvision(
      Map<String, HostTensor> torchvision, Map<String, HostTensor> heads) {
    Map<String, HostTensor> sd = new LinkedHashMap<>();
    List<String> unexpected = new ArrayList<>();
    for (Map.Entry<String, HostTensor> e : torchvision.entrySet()) {
      String k = e.getKey();
      if (k.startsWith("classifier.")) {
        continue; // AlexNet's fully connected head: not part of LPIPS
      }
      String mapped = null;
      for (int s = 0; s < 5; s++) {
        String p = "features." + CONV_INDEX[s] + ".";
        if (k.startsWith(p)) {
          mapped = "net.slice" + (s + 1) + "." + CONV_INDEX[s] + "." + k.substring(p.length());
        }
      }
      if (mapped == null) {
        unexpected.add(k);
      } else {
        sd.put(mapped, e.getValue());
      }
    }
    if (!unexpected.isEmpty()) {
      throw new WeightsException(
          "LPIPS: the AlexNet file has keys that are not torchvision AlexNet's: " + unexpected);
    }
    sd.putAll(heads);
    return sd;
  }

  /**
   * LPIPS of two NCHW batches in [0,1] under {@code convention}: shape [N,1,1,1] like lpips. Differentiable with
   * respect to {@code x0} and {@code x1}; results belong to {@code x0}'s manager (scope the call).
   */
  public NDArray forward(NDArray x0, NDArray x1, InputConvention convention) {
    return trace(x0, x1, convention, null);
  }

  /** {@link #forward(NDArray, NDArray, InputConvention)} with the {@link InputConvention#DEFAULT} convention. */
  public NDArray forward(NDArray x0, NDArray x1) {
    return forward(x0, x1, InputConvention.DEFAULT);
  }

  /** Per-image LPIPS values (no gradient, temporaries freed). */
  @SuppressWarnings("try") // NDScope frees the temporaries; it is not referenced
  public float[] distance(NDArray x0, NDArray x1, InputConvention convention) {
    // Outside a GradientCollector no graph is recorded; the scope frees every temporary.
    try (NDScope scope = new NDScope()) {
      return forward(x0, x1, convention).toFloatArray();
    }
  }

  /**
   * Forward pass; when {@code debug} is non-null it receives named intermediates ({@code scaled0/1}, {@code
   * feat{k}.x0/x1}, {@code lin{k}}, {@code res{k}}) for the reference-dump tests.
   */
  NDArray trace(NDArray x0, NDArray x1, InputConvention convention, Map<String, NDArray> debug) {
    Shape s = x0.getShape();
    if (s.dimension() != 4 || s.get(1) != 3 || !s.equals(x1.getShape())) {
      throw new MetricException("LPIPS: need two [N,3,H,W] images of equal shape, got " + s + " and "
          + x1.getShape());
    }
    if (Math.min(s.get(2), s.get(3)) < MIN_SIDE) {
      throw new MetricException("LPIPS needs images of at least " + MIN_SIDE + " px on each side (AlexNet's"
          + " strided convolution and three max-pools), got " + s.get(2) + "x" + s.get(3));
    }
    NDArray in0 = convention == InputConvention.STANDARD ? Scalars.mul(x0, 2).sub(1) : x0;
    NDArray in1 = convention == InputConvention.STANDARD ? Scalars.mul(x1, 2).sub(1) : x1;
    in0 = in0.sub(shift).div(scale);
    in1 = in1.sub(shift).div(scale);
    if (debug != null) {
      debug.put("scaled0", in0);
      debug.put("scaled1", in1);
    }
    // One trunk pass over both inputs (lpips runs two): the same per-image results, fewer and larger convolutions.
    long n = s.get(0);
    NDArray[] both = features(in0.concat(in1, 0));
    NDArray[] f0 = new NDArray[5];
    NDArray[] f1 = new NDArray[5];
    for (int k = 0; k < 5; k++) {
      f0[k] = both[k].get("0:" + n);
      f1[k] = both[k].get(n + ":");
    }
    NDArray total = null;
    for (int k = 0; k < 5; k++) {
      NDArray n0 = unitNormalize(f0[k]);
      NDArray n1 = unitNormalize(f1[k]);
      NDArray d = n0.sub(n1).square();
      NDArray l = Conv2d.conv2d(d, lin[k]).singletonOrThrow();
      NDArray r = l.mean(new int[] {3}, true).mean(new int[] {2}, true); // DJL means over one axis at a time
      if (debug != null) {
        debug.put("feat" + k + ".x0", f0[k]);
        debug.put("feat" + k + ".x1", f1[k]);
        debug.put("lin" + k, l);
        debug.put("res" + k, r);
      }
      total = total == null ? r : total.add(r);
    }
    return total;
  }

  /** The five ReLU outputs of lpips' AlexNet slices. */
  private NDArray[] features(NDArray x) {
    NDArray[] out = new NDArray[5];
    NDArray h = x;
    for (int k = 0; k < 5; k++) {
      if (k == 1 || k == 2) {
        h = Pool.maxPool2d(h, new Shape(3, 3), new Shape(2, 2), new Shape(0, 0), false);
      }
      h = Conv2d.conv2d(h, convWeight[k], convBias[k], new Shape(STRIDE[k], STRIDE[k]), new Shape(PAD[k], PAD[k]),
              new Shape(1, 1))
          .singletonOrThrow();
      h = Activation.relu(h);
      out[k] = h;
    }
    return out;
  }

  /** lpips {@code normalize_tensor}: {@code f / (sqrt(Σ_c f²) + eps)}. */
  private static NDArray unitNormalize(NDArray f) {
    return f.div(f.square().sum(new int[] {1}, true).sqrt().add(NORM_EPS));
  }

  @Override
  public void close() {
    manager.close();
  }
}
