package ai.taco.metrics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.pooling.Pool;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.StateDict;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * PieAPP (Prashnani et al. 2018, "Perceptual Image-Error Assessment through Pairwise Preference") as piq 0.8
 * ({@code piq.PieAPP}) computes it: both images scaled to [0,255], cut into 64x64 patches every {@code stride} pixels
 * (piq's default 27, its "sparse" sampling), each patch through PieAPP's 11-layer convolutional feature extractor;
 * per patch the score head maps the difference of the concatenated multi-scale features (reference minus distorted)
 * to an error and the weight head maps the difference of the last layer's features to a weight; an image's PieAPP is
 * the weighted mean of its patch errors. Lower means closer to the reference (values may be negative).
 *
 * <p>Weights: piq's {@code PieAPPv0.1.pth} (the original authors' model converted to torch), as torch .pth or the same
 * keys as safetensors; see {@link #stateDictShapes()}.
 */
public final class Pieapp implements AutoCloseable {
  /** PieAPP's patch side (piq {@code crop_patches(size=64)}; the network's fully connected heads fix it). */
  public static final int PATCH_SIZE = 64;

  /** piq's default step between patches ({@code PieAPP(stride=27)}). */
  public static final int DEFAULT_STRIDE = 27;

  /** piq's default {@code data_range}: inputs in [0,1]. */
  public static final double DEFAULT_DATA_RANGE = 1.0;

  /** The network was trained on [0,255] images; piq rescales {@code x / data_range * 255}. */
  static final float PIXEL_SCALE = 255f;

  /** piq {@code compute_difference}: the score head's output is multiplied by 0.01 before ref_score_subtract. */
  static final float SCORE_COEFFICIENT = 0.01f;

  /** piq {@code PieAPPModel.EPS}, added to every patch weight. */
  static final float WEIGHT_EPS = 1e-6f;

  /** Input and output channels of conv1..conv11 (piq {@code PieAPPModel}, FEATURES = 64 doubled every two blocks). */
  static final int[] CONV_IN = {3, 64, 64, 64, 128, 128, 128, 256, 256, 256, 512};

  static final int[] CONV_OUT = {64, 64, 64, 128, 128, 128, 256, 256, 256, 512, 512};

  /** Width of the score head's input: conv3, conv5, conv7, conv9 and conv11 outputs of one patch, flattened. */
  static final int FEATURE_DIM = 64 * 32 * 32 + 128 * 16 * 16 + 256 * 8 * 8 + 256 * 4 * 4 + 512 * 2 * 2;

  /** Width of the weight head's input: conv11's output of one patch, flattened. */
  static final int WEIGHT_FEATURE_DIM = 512 * 2 * 2;

  /** Hidden width of both heads. */
  static final int HIDDEN = 512;

  /**
   * Patches per forward pass: bounds the working set (conv1 of 16 patch pairs is 2·16·64·64·64 floats, 34 MB), so any
   * image size runs in constant memory.
   */
  static final int PATCH_BATCH = 16;

  private static final String REF_WEIGHT = "ref_score_subtract.weight";

  private final NDManager manager;
  private final NDArray[] convWeight = new NDArray[CONV_IN.length];
  private final NDArray[] convBias = new NDArray[CONV_IN.length];
  private final NDArray fc1Score;
  private final NDArray fc1ScoreBias;
  private final NDArray fc2Score;
  private final NDArray fc2ScoreBias;
  private final NDArray fc1Weight;
  private final NDArray fc1WeightBias;
  private final NDArray fc2Weight;
  private final NDArray fc2WeightBias;
  private final NDArray refWeight;
  private final NDArray refBias;

  private Pieapp(NDManager manager, Map<String, NDArray> sd) {
    this.manager = manager;
    for (int i = 0; i < CONV_IN.length; i++) {
      convWeight[i] = sd.get("conv" + (i + 1) + ".weight");
      convBias[i] = sd.get("conv" + (i + 1) + ".bias");
    }
    fc1Score = sd.get("fc1_score.weight");
    fc1ScoreBias = sd.get("fc1_score.bias");
    fc2Score = sd.get("fc2_score.weight");
    fc2ScoreBias = sd.get("fc2_score.bias");
    fc1Weight = sd.get("fc1_weight.weight");
    fc1WeightBias = sd.get("fc1_weight.bias");
    fc2Weight = sd.get("fc2_weight.weight");
    fc2WeightBias = sd.get("fc2_weight.bias");
    refWeight = sd.get(REF_WEIGHT);
    refBias = sd.get("ref_score_subtract.bias");
  }

  /**
   * The state-dict keys and shapes of piq's {@code PieAPPModel}. {@code ref_score_subtract.weight} is [1,1] here;
   * PieAPPv0.1.pth stores it as [1] (piq unsqueezes it at load), and both are accepted.
   */
  public static Map<String, long[]> stateDictShapes() {
    Map<String, long[]> m = new LinkedHashMap<>();
    for (int i = 0; i < CONV_IN.length; i++) {
      m.put("conv" + (i + 1) + ".weight", new long[] {CONV_OUT[i], CONV_IN[i], 3, 3});
      m.put("conv" + (i + 1) + ".bias", new long[] {CONV_OUT[i]});
    }
    m.put("fc1_score.weight", new long[] {HIDDEN, FEATURE_DIM});
    m.put("fc1_score.bias", new long[] {HIDDEN});
    m.put("fc2_score.weight", new long[] {1, HIDDEN});
    m.put("fc2_score.bias", new long[] {1});
    m.put("fc1_weight.weight", new long[] {HIDDEN, WEIGHT_FEATURE_DIM});
    m.put("fc1_weight.bias", new long[] {HIDDEN});
    m.put("fc2_weight.weight", new long[] {1, HIDDEN});
    m.put("fc2_weight.bias", new long[] {1});
    m.put(REF_WEIGHT, new long[] {1, 1});
    m.put("ref_score_subtract.bias", new long[] {1});
    return m;
  }

  /** Loads PieAPPv0.1 (torch .pth or safetensors with piq's keys). */
  public static Pieapp load(Path weights) {
    return fromStateDict(StateDict.load(weights));
  }

  /**
   * Builds PieAPP over a state dict already in memory. Strict: missing, unexpected or mis-shaped keys are all reported
   * in one {@link ai.taco.core.error.WeightsException}, before any native memory is allocated.
   */
  public static Pieapp fromStateDict(Map<String, HostTensor> stateDict) {
    Map<String, HostTensor> sd = new LinkedHashMap<>(stateDict);
    HostTensor ref = sd.get(REF_WEIGHT);
    if (ref != null && ref.shape().length == 1 && ref.shape()[0] == 1) {
      sd.put(REF_WEIGHT, new HostTensor(ref.dataType(), new long[] {1, 1}, ref.data()));
    }
    StateDict.check("PieAPP (v0.1, piq keys)", stateDictShapes(), sd, k -> false);
    NDManager owner = NDManager.newBaseManager();
    try {
      Map<String, NDArray> arrays = new LinkedHashMap<>();
      for (Map.Entry<String, HostTensor> e : sd.entrySet()) {
        arrays.put(e.getKey(), e.getValue().toNDArray(owner).toType(DataType.FLOAT32, false));
      }
      return new Pieapp(owner, arrays);
    } catch (RuntimeException e) {
      owner.close();
      throw e;
    }
  }

  /**
   * PieAPP of each image pair with piq's defaults (stride 27, data range 1): piq {@code PieAPP(reduction='none')(x,
   * y)}.
   *
   * @param x distorted images [N,3,H,W] in [0,1] (piq's first argument)
   * @param y reference images, same shape
   * @throws ImageTooSmallException when a side is below {@link #PATCH_SIZE}
   */
  public float[] scores(NDArray x, NDArray y) {
    return scores(x, y, DEFAULT_STRIDE, DEFAULT_DATA_RANGE);
  }

  /** The mean over the batch of {@link #scores(NDArray, NDArray)}: piq's default {@code reduction='mean'}. */
  public double score(NDArray x, NDArray y) {
    float[] s = scores(x, y);
    double sum = 0;
    for (float v : s) {
      sum += v;
    }
    return sum / s.length;
  }

  /** {@link #scores(NDArray, NDArray)} with another patch stride and data range ([0, dataRange] inputs). */
  public float[] scores(NDArray x, NDArray y, int stride, double dataRange) {
    PatchScores p = patchScores(x, y, stride, dataRange);
    float[] out = new float[p.images()];
    int perImage = p.distance().length / p.images();
    for (int n = 0; n < p.images(); n++) {
      // piq: (d * w).sum() / w.sum() over the image's patches
      double num = 0;
      double den = 0;
      for (int k = n * perImage; k < (n + 1) * perImage; k++) {
        num += (double) p.distance()[k] * p.weight()[k];
        den += p.weight()[k];
      }
      out[n] = (float) (num / den);
    }
    return out;
  }

  /** Per-patch errors and weights, patches in piq's order (image, then patch row, then patch column). */
  record PatchScores(int images, float[] distance, float[] weight) {}

  @SuppressWarnings("try") // the scope frees the temporaries; it is not referenced
  PatchScores patchScores(NDArray x, NDArray y, int stride, double dataRange) {
    Shape s = x.getShape();
    if (s.dimension() != 4 || s.get(1) != 3 || !s.equals(y.getShape())) {
      throw new MetricException("PieAPP: need two [N,3,H,W] images of equal shape, got " + s + " and "
          + y.getShape());
    }
    if (stride < 1) {
      throw new MetricException("PieAPP: stride must be >= 1, got " + stride);
    }
    if (!(dataRange > 0) || Double.isInfinite(dataRange)) {
      throw new MetricException("PieAPP: data range must be positive and finite, got " + dataRange);
    }
    long h = s.get(2);
    long w = s.get(3);
    if (Math.min(h, w) < PATCH_SIZE) {
      throw new ImageTooSmallException("PieAPP needs both image sides >= " + PATCH_SIZE + " px (its patch size), got "
          + w + "x" + h, (int) Math.min(h, w));
    }
    requireRange(x, dataRange, "distorted");
    requireRange(y, dataRange, "reference");
    int n = (int) s.get(0);
    int rows = (int) ((h - PATCH_SIZE) / stride + 1);
    int cols = (int) ((w - PATCH_SIZE) / stride + 1);
    int total = n * rows * cols;
    float[] distance = new float[total];
    float[] weight = new float[total];
    for (int start = 0; start < total; start += PATCH_BATCH) {
      int end = Math.min(total, start + PATCH_BATCH);
      try (NDScope scope = new NDScope()) {
        NDList px = new NDList();
        NDList py = new NDList();
        for (int k = start; k < end; k++) {
          int img = k / (rows * cols);
          int top = (k / cols % rows) * stride;
          int left = k % cols * stride;
          NDIndex at = new NDIndex("{}, :, {}:{}, {}:{}", img, top, top + PATCH_SIZE, left, left + PATCH_SIZE);
          px.add(x.get(at));
          py.add(y.get(at));
        }
        int b = end - start;
        // piq rescales x / data_range * 255; one trunk pass over the distorted then the reference patches.
        NDArray both = NDArrays.concat(new NDList(NDArrays.stack(px), NDArrays.stack(py)), 0)
            .div(dataRange).mul(PIXEL_SCALE);
        NDArray[] f = features(both);
        NDArray featureDiff = f[0].get(b + ":").sub(f[0].get("0:" + b));
        NDArray weightDiff = f[1].get(b + ":").sub(f[1].get("0:" + b));
        NDArray d = linear(Activation.relu(linear(featureDiff, fc1Score, fc1ScoreBias)), fc2Score, fc2ScoreBias);
        d = linear(d.mul(SCORE_COEFFICIENT), refWeight, refBias);
        NDArray wt = linear(Activation.relu(linear(weightDiff, fc1Weight, fc1WeightBias)), fc2Weight, fc2WeightBias)
            .add(WEIGHT_EPS);
        System.arraycopy(d.toFloatArray(), 0, distance, start, b);
        System.arraycopy(wt.toFloatArray(), 0, weight, start, b);
      }
    }
    return new PatchScores(n, distance, weight);
  }

  private static void requireRange(NDArray a, double dataRange, String what) {
    float min = a.min().getFloat();
    float max = a.max().getFloat();
    if (!(min >= 0) || !(max <= dataRange)) {
      throw new MetricException("PieAPP: the " + what + " image has values in [" + min + ", " + max
          + "], outside [0, " + dataRange + "]");
    }
  }

  /**
   * The patch features of piq's {@code PieAPPModel.forward}: [0] conv3, conv5, conv7, conv9 and conv11 outputs
   * flattened and concatenated ({@link #FEATURE_DIM} per patch), [1] conv11's alone.
   */
  private NDArray[] features(NDArray x) {
    NDList kept = new NDList();
    NDArray h = x;
    for (int i = 0; i < CONV_IN.length; i++) {
      // conv1 -> relu -> conv2 -> relu -> pool -> conv3 -> relu, then (conv, relu, pool, conv, relu) four times:
      // max-pool after the even-numbered layers (2, 4, ...), features after the odd ones from conv3 on.
      h = Activation.relu(Conv2d.conv2d(h, convWeight[i], convBias[i], new Shape(1, 1), new Shape(1, 1),
          new Shape(1, 1)).singletonOrThrow());
      int layer = i + 1;
      if (layer % 2 == 0) {
        h = Pool.maxPool2d(h, new Shape(2, 2), new Shape(2, 2), new Shape(0, 0), false);
      } else if (layer >= 3) {
        kept.add(h.reshape(h.getShape().get(0), -1));
      }
    }
    return new NDArray[] {NDArrays.concat(kept, 1), kept.get(kept.size() - 1)};
  }

  /** torch {@code nn.Linear}: {@code x Wᵀ + b}. */
  private static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
    return x.matMul(weight.transpose()).add(bias);
  }

  @Override
  public void close() {
    manager.close();
  }
}
