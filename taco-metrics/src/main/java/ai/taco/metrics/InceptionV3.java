package ai.taco.metrics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.pooling.Pool;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.StateDict;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The InceptionV3 that FID is defined with: pytorch-fid's {@code InceptionV3([3])} with {@code use_fid_inception=True}
 * (the TF 2015-12-05 graph ported to torchvision's Inception3 layout), returning the 2048-d pool3 features.
 *
 * <p>Forward exactly as pytorch-fid: bilinear resize of the [0,1] input to 299x299 ({@code align_corners=False}, no
 * antialias, done with separable interpolation matrices because DJL's resize antialiases when shrinking), {@code 2x-1},
 * the stem and the Mixed blocks, global average pool. The FID variants of the blocks: the pool branch of Mixed_5b..5d,
 * Mixed_6b..6e and Mixed_7b averages with {@code count_include_pad=False}; Mixed_7c's pool branch is a 3x3 max pool.
 * Every BasicConv2d is conv (no bias), batch norm (eps 1e-3, eval), ReLU; the BN is folded into the conv at load.
 *
 * <p>Weights by key name: pytorch-fid's {@code pt_inception-2015-12-05-6726825d.pth} (torchvision names such as
 * {@code Mixed_5b.branch1x1.conv.weight}; its {@code fc.*} classifier is ignored) or pytorch-fid's own module state
 * dict ({@code blocks.2.0.branch1x1.conv.weight}), as .pth or safetensors.
 */
public final class InceptionV3 implements AutoCloseable {
  /** Size of the pool3 features. */
  public static final int FEATURE_DIM = 2048;

  /** Input side of the network (pytorch-fid resizes every image to it). */
  public static final int INPUT_SIZE = 299;

  /** BatchNorm epsilon of torchvision's BasicConv2d (0.001). */
  static final float BN_EPS = 1e-3f;

  /** pytorch-fid block layout: block index → torchvision module names, in order. */
  static final String[][] BLOCKS = {
    {"Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3"},
    {"Conv2d_3b_1x1", "Conv2d_4a_3x3"},
    {"Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"},
    {"Mixed_7a", "Mixed_7b", "Mixed_7c"}
  };

  private final NDManager manager;
  private final Map<String, BasicConv> convs;

  /**
   * conv + BN (eval) + ReLU with the BN folded into the conv: {@code w·a} and bias {@code b - mean·a}, {@code a =
   * gamma / sqrt(var + eps)} per output channel (one pass over the activations instead of two).
   */
  private record BasicConv(NDArray weight, NDArray bias, Shape stride, Shape pad) {}

  private InceptionV3(NDManager manager, Map<String, BasicConv> convs) {
    this.manager = manager;
    this.convs = convs;
  }

  /** Loads pytorch-fid Inception weights (.pth or safetensors; either key naming). */
  public static InceptionV3 load(Path weights) {
    return fromStateDict(StateDict.load(weights));
  }

  /**
   * Builds the network from a state dict. Strict: every BasicConv of the FID Inception must be present with its
   * shape; only the classifier ({@code fc.*}, {@code AuxLogits.*}) and BN {@code num_batches_tracked} counters may be
   * extra.
   */
  public static InceptionV3 fromStateDict(Map<String, HostTensor> stateDict) {
    Map<String, HostTensor> sd = new LinkedHashMap<>();
    stateDict.forEach((k, v) -> sd.put(torchvisionName(k), v));
    Map<String, long[]> expected = stateDictShapes();
    StateDict.check("FID InceptionV3 (pytorch-fid pt_inception-2015-12-05)", expected, sd,
        k -> k.startsWith("fc.") || k.startsWith("AuxLogits.") || k.endsWith(".num_batches_tracked"));
    NDManager m = NDManager.newBaseManager();
    try {
      Map<String, BasicConv> convs = new HashMap<>();
      for (String name : convNames()) {
        long[] w = expected.get(name + ".conv.weight");
        convs.put(name, folded(sd, name, w, m));
      }
      return new InceptionV3(m, convs);
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
  }

  private static BasicConv folded(Map<String, HostTensor> sd, String name, long[] shape, NDManager m) {
    float[] w = sd.get(name + ".conv.weight").toFloatArray();
    float[] gamma = sd.get(name + ".bn.weight").toFloatArray();
    float[] beta = sd.get(name + ".bn.bias").toFloatArray();
    float[] mean = sd.get(name + ".bn.running_mean").toFloatArray();
    float[] var = sd.get(name + ".bn.running_var").toFloatArray();
    int out = (int) shape[0];
    int per = w.length / out;
    float[] bias = new float[out];
    for (int o = 0; o < out; o++) {
      float a = gamma[o] / (float) Math.sqrt(var[o] + BN_EPS);
      for (int i = o * per; i < (o + 1) * per; i++) {
        w[i] *= a;
      }
      bias[o] = beta[o] - mean[o] * a;
    }
    return new BasicConv(m.create(w, new Shape(shape)), m.create(bias, new Shape(out)), stride(name),
        padding(name, shape));
  }

  /** pytorch-fid's {@code blocks.B.I.rest} → torchvision's {@code Module.rest}; other names unchanged. */
  static String torchvisionName(String key) {
    if (!key.startsWith("blocks.")) {
      return key;
    }
    String[] p = key.split("\\.", 4);
    try {
      int b = Integer.parseInt(p[1]);
      int i = Integer.parseInt(p[2]);
      if (b < BLOCKS.length && i < BLOCKS[b].length && p.length == 4) {
        return BLOCKS[b][i] + "." + p[3];
      }
    } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
      // fall through: reported as unexpected by the key check
    }
    return key;
  }

  /**
   * Features of NCHW float images in [0,1] (any size; resized to 299): [N, 2048]. The result belongs to {@code
   * images}' manager; temporaries are freed.
   */
  @SuppressWarnings("try") // NDScope frees the temporaries; it is not referenced
  public NDArray features(NDArray images) {
    checkImages(images);
    try (NDScope scope = new NDScope()) {
      NDArray x = normalizedInput(images);
      for (int b = 0; b < BLOCKS.length; b++) {
        x = block(b, x);
      }
      NDArray out = x.mean(new int[] {3}).mean(new int[] {2}); // adaptive avg pool to 1x1, squeezed
      NDScope.unregister(out);
      return out;
    }
  }

  /**
   * Features of images of different sizes ([1,3,H,W] each, [0,1]): each is resized to 299 on its own, then the batch
   * runs at once. [N, 2048], owned by the first image's manager.
   */
  @SuppressWarnings("try") // NDScope frees the temporaries; it is not referenced
  public NDArray features(List<NDArray> images) {
    if (images.isEmpty()) {
      throw new MetricException("InceptionV3: empty batch");
    }
    try (NDScope scope = new NDScope()) {
      NDList resized = new NDList();
      for (NDArray im : images) {
        checkImages(im);
        resized.add(resize299(im));
      }
      NDArray out = features(NDArrays.concat(resized, 0)); // 299 -> 299 resize is the identity
      NDScope.unregister(out);
      return out;
    }
  }

  /** Features as a float array, [N*2048] row-major. */
  public float[] featureArray(NDArray images) {
    try (NDArray f = features(images)) {
      return f.toFloatArray();
    }
  }

  /** pytorch-fid's input transform: resize to 299 (bilinear, no antialias), then {@code 2x-1}. */
  NDArray normalizedInput(NDArray images) {
    return resize299(images).mul(2).sub(1);
  }

  /**
   * {@code F.interpolate(x, (299,299), mode='bilinear', align_corners=False)} as two interpolation matrices: {@code
   * Wh · x · Wwᵀ}. Each row of a matrix holds torch's two bilinear taps.
   */
  static NDArray resize299(NDArray images) {
    Shape s = images.getShape();
    NDManager m = images.getManager();
    NDArray wh = m.create(bilinearMatrix((int) s.get(2), INPUT_SIZE), new Shape(INPUT_SIZE, s.get(2)));
    NDArray ww = m.create(bilinearMatrix((int) s.get(3), INPUT_SIZE), new Shape(INPUT_SIZE, s.get(3)));
    NDArray x = images.toType(DataType.FLOAT32, false);
    return wh.matMul(x).matMul(ww.transpose());
  }

  /**
   * Row-major [out, in] matrix of torch's bilinear resize along one axis (align_corners=False): source coordinate
   * {@code (i+0.5)·in/out - 0.5} clamped at 0, taps at floor and floor+1 (clamped to the last pixel). Float arithmetic
   * as torch's CPU kernel uses for float inputs.
   */
  static float[] bilinearMatrix(int in, int out) {
    float[] w = new float[out * in];
    double scale = (double) in / out;
    for (int i = 0; i < out; i++) {
      double src = scale * (i + 0.5) - 0.5;
      if (src < 0) {
        src = 0;
      }
      int i0 = (int) src;
      int i1 = i0 < in - 1 ? i0 + 1 : i0;
      float l1 = (float) (src - i0);
      float l0 = 1f - l1;
      w[i * in + i0] += l0;
      w[i * in + i1] += l1;
    }
    return w;
  }

  /** pytorch-fid block {@code b} (0: stem to the first max pool, 1: to the second, 2: Mixed_5b-6e, 3: Mixed_7a-7c). */
  NDArray block(int b, NDArray x) {
    switch (b) {
      case 0 -> {
        x = conv("Conv2d_1a_3x3", x);
        x = conv("Conv2d_2a_3x3", x);
        x = conv("Conv2d_2b_3x3", x);
        return maxPool3s2(x);
      }
      case 1 -> {
        x = conv("Conv2d_3b_1x1", x);
        x = conv("Conv2d_4a_3x3", x);
        return maxPool3s2(x);
      }
      case 2 -> {
        x = inceptionA("Mixed_5b", x);
        x = inceptionA("Mixed_5c", x);
        x = inceptionA("Mixed_5d", x);
        x = inceptionB("Mixed_6a", x);
        x = inceptionC("Mixed_6b", x);
        x = inceptionC("Mixed_6c", x);
        x = inceptionC("Mixed_6d", x);
        return inceptionC("Mixed_6e", x);
      }
      case 3 -> {
        x = inceptionD("Mixed_7a", x);
        x = inceptionE("Mixed_7b", x, false);
        return inceptionE("Mixed_7c", x, true);
      }
      default -> throw new IllegalArgumentException("block " + b);
    }
  }

  private NDArray inceptionA(String p, NDArray x) {
    NDArray b1 = conv(p + ".branch1x1", x);
    NDArray b5 = conv(p + ".branch5x5_2", conv(p + ".branch5x5_1", x));
    NDArray b3 = conv(p + ".branch3x3dbl_3", conv(p + ".branch3x3dbl_2", conv(p + ".branch3x3dbl_1", x)));
    NDArray bp = conv(p + ".branch_pool", avgPool3NoPadCount(x));
    return cat(b1, b5, b3, bp);
  }

  private NDArray inceptionB(String p, NDArray x) {
    NDArray b3 = conv(p + ".branch3x3", x);
    NDArray bd = conv(p + ".branch3x3dbl_3", conv(p + ".branch3x3dbl_2", conv(p + ".branch3x3dbl_1", x)));
    return cat(b3, bd, maxPool3s2(x));
  }

  private NDArray inceptionC(String p, NDArray x) {
    NDArray b1 = conv(p + ".branch1x1", x);
    NDArray b7 = conv(p + ".branch7x7_3", conv(p + ".branch7x7_2", conv(p + ".branch7x7_1", x)));
    NDArray bd = x;
    for (int i = 1; i <= 5; i++) {
      bd = conv(p + ".branch7x7dbl_" + i, bd);
    }
    NDArray bp = conv(p + ".branch_pool", avgPool3NoPadCount(x));
    return cat(b1, b7, bd, bp);
  }

  private NDArray inceptionD(String p, NDArray x) {
    NDArray b3 = conv(p + ".branch3x3_2", conv(p + ".branch3x3_1", x));
    NDArray b7 = x;
    for (int i = 1; i <= 4; i++) {
      b7 = conv(p + ".branch7x7x3_" + i, b7);
    }
    return cat(b3, b7, maxPool3s2(x));
  }

  /** FIDInceptionE_1 ({@code maxPoolBranch=false}: avg pool without pad counting) or FIDInceptionE_2 (max pool). */
  private NDArray inceptionE(String p, NDArray x, boolean maxPoolBranch) {
    NDArray b1 = conv(p + ".branch1x1", x);
    NDArray b3 = conv(p + ".branch3x3_1", x);
    NDArray b3cat = cat(conv(p + ".branch3x3_2a", b3), conv(p + ".branch3x3_2b", b3));
    NDArray bd = conv(p + ".branch3x3dbl_2", conv(p + ".branch3x3dbl_1", x));
    NDArray bdcat = cat(conv(p + ".branch3x3dbl_3a", bd), conv(p + ".branch3x3dbl_3b", bd));
    NDArray pooled = maxPoolBranch
        ? Pool.maxPool2d(x, new Shape(3, 3), new Shape(1, 1), new Shape(1, 1), false)
        : avgPool3NoPadCount(x);
    return cat(b1, b3cat, bdcat, conv(p + ".branch_pool", pooled));
  }

  private NDArray conv(String name, NDArray x) {
    BasicConv c = convs.get(name);
    NDArray y = Conv2d.conv2d(x, c.weight, c.bias, c.stride, c.pad, new Shape(1, 1)).singletonOrThrow();
    return Activation.relu(y);
  }

  private static NDArray maxPool3s2(NDArray x) {
    return Pool.maxPool2d(x, new Shape(3, 3), new Shape(2, 2), new Shape(0, 0), false);
  }

  /**
   * {@code avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)} of the FID blocks. DJL 0.36's PyTorch
   * avgPool ignores its countIncludePad flag (always divides by 9, checked), so the zero-padded average is divided by
   * the same average of ones: the fraction of the window inside the image.
   */
  private static NDArray avgPool3NoPadCount(NDArray x) {
    Shape k = new Shape(3, 3);
    Shape one = new Shape(1, 1);
    NDArray padded = Pool.avgPool2d(x, k, one, one, false, true);
    Shape s = x.getShape();
    NDArray inside = Pool.avgPool2d(x.getManager().ones(new Shape(1, 1, s.get(2), s.get(3))), k, one, one, false, true);
    return padded.div(inside);
  }

  private static NDArray cat(NDArray... parts) {
    return NDArrays.concat(new NDList(parts), 1);
  }

  private static void checkImages(NDArray images) {
    Shape s = images.getShape();
    if (s.dimension() != 4 || s.get(1) != 3 || s.get(0) < 1) {
      throw new MetricException("InceptionV3: need [N,3,H,W] RGB images, got " + s);
    }
  }

  // ---- layer table (torchvision Inception3, pytorch-fid FID variant) ----

  /** Every BasicConv name in the network. */
  static List<String> convNames() {
    List<String> n = new ArrayList<>(List.of("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1",
        "Conv2d_4a_3x3"));
    for (String a : new String[] {"Mixed_5b", "Mixed_5c", "Mixed_5d"}) {
      for (String b : new String[] {"branch1x1", "branch5x5_1", "branch5x5_2", "branch3x3dbl_1", "branch3x3dbl_2",
          "branch3x3dbl_3", "branch_pool"}) {
        n.add(a + "." + b);
      }
    }
    for (String b : new String[] {"branch3x3", "branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"}) {
      n.add("Mixed_6a." + b);
    }
    for (String c : new String[] {"Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"}) {
      for (String b : new String[] {"branch1x1", "branch7x7_1", "branch7x7_2", "branch7x7_3", "branch7x7dbl_1",
          "branch7x7dbl_2", "branch7x7dbl_3", "branch7x7dbl_4", "branch7x7dbl_5", "branch_pool"}) {
        n.add(c + "." + b);
      }
    }
    for (String b : new String[] {"branch3x3_1", "branch3x3_2", "branch7x7x3_1", "branch7x7x3_2", "branch7x7x3_3",
        "branch7x7x3_4"}) {
      n.add("Mixed_7a." + b);
    }
    for (String e : new String[] {"Mixed_7b", "Mixed_7c"}) {
      for (String b : new String[] {"branch1x1", "branch3x3_1", "branch3x3_2a", "branch3x3_2b", "branch3x3dbl_1",
          "branch3x3dbl_2", "branch3x3dbl_3a", "branch3x3dbl_3b", "branch_pool"}) {
        n.add(e + "." + b);
      }
    }
    return n;
  }

  /** Key → shape of the FID Inception weights (torchvision names; num_batches_tracked optional, fc ignored). */
  public static Map<String, long[]> stateDictShapes() {
    Map<String, long[]> m = new LinkedHashMap<>();
    Map<String, int[]> spec = convSpec();
    for (String name : convNames()) {
      int[] s = spec.get(name); // {out, in, kh, kw}
      m.put(name + ".conv.weight", new long[] {s[0], s[1], s[2], s[3]});
      for (String bn : new String[] {"weight", "bias", "running_mean", "running_var"}) {
        m.put(name + ".bn." + bn, new long[] {s[0]});
      }
    }
    return m;
  }

  /** {out, in, kh, kw} of every BasicConv (torchvision inception.py, Inception3 with the FID blocks). */
  private static Map<String, int[]> convSpec() {
    Map<String, int[]> s = new HashMap<>();
    s.put("Conv2d_1a_3x3", new int[] {32, 3, 3, 3});
    s.put("Conv2d_2a_3x3", new int[] {32, 32, 3, 3});
    s.put("Conv2d_2b_3x3", new int[] {64, 32, 3, 3});
    s.put("Conv2d_3b_1x1", new int[] {80, 64, 1, 1});
    s.put("Conv2d_4a_3x3", new int[] {192, 80, 3, 3});
    int[][] a = {{192, 32}, {256, 64}, {288, 64}}; // InceptionA(in, pool_features)
    String[] an = {"Mixed_5b", "Mixed_5c", "Mixed_5d"};
    for (int i = 0; i < 3; i++) {
      int in = a[i][0];
      s.put(an[i] + ".branch1x1", new int[] {64, in, 1, 1});
      s.put(an[i] + ".branch5x5_1", new int[] {48, in, 1, 1});
      s.put(an[i] + ".branch5x5_2", new int[] {64, 48, 5, 5});
      s.put(an[i] + ".branch3x3dbl_1", new int[] {64, in, 1, 1});
      s.put(an[i] + ".branch3x3dbl_2", new int[] {96, 64, 3, 3});
      s.put(an[i] + ".branch3x3dbl_3", new int[] {96, 96, 3, 3});
      s.put(an[i] + ".branch_pool", new int[] {a[i][1], in, 1, 1});
    }
    s.put("Mixed_6a.branch3x3", new int[] {384, 288, 3, 3});
    s.put("Mixed_6a.branch3x3dbl_1", new int[] {64, 288, 1, 1});
    s.put("Mixed_6a.branch3x3dbl_2", new int[] {96, 64, 3, 3});
    s.put("Mixed_6a.branch3x3dbl_3", new int[] {96, 96, 3, 3});
    String[] cn = {"Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"};
    int[] c7s = {128, 160, 160, 192}; // InceptionC channels_7x7
    for (int i = 0; i < 4; i++) {
      int c7 = c7s[i];
      String p = cn[i];
      s.put(p + ".branch1x1", new int[] {192, 768, 1, 1});
      s.put(p + ".branch7x7_1", new int[] {c7, 768, 1, 1});
      s.put(p + ".branch7x7_2", new int[] {c7, c7, 1, 7});
      s.put(p + ".branch7x7_3", new int[] {192, c7, 7, 1});
      s.put(p + ".branch7x7dbl_1", new int[] {c7, 768, 1, 1});
      s.put(p + ".branch7x7dbl_2", new int[] {c7, c7, 7, 1});
      s.put(p + ".branch7x7dbl_3", new int[] {c7, c7, 1, 7});
      s.put(p + ".branch7x7dbl_4", new int[] {c7, c7, 7, 1});
      s.put(p + ".branch7x7dbl_5", new int[] {192, c7, 1, 7});
      s.put(p + ".branch_pool", new int[] {192, 768, 1, 1});
    }
    s.put("Mixed_7a.branch3x3_1", new int[] {192, 768, 1, 1});
    s.put("Mixed_7a.branch3x3_2", new int[] {320, 192, 3, 3});
    s.put("Mixed_7a.branch7x7x3_1", new int[] {192, 768, 1, 1});
    s.put("Mixed_7a.branch7x7x3_2", new int[] {192, 192, 1, 7});
    s.put("Mixed_7a.branch7x7x3_3", new int[] {192, 192, 7, 1});
    s.put("Mixed_7a.branch7x7x3_4", new int[] {192, 192, 3, 3});
    String[] en = {"Mixed_7b", "Mixed_7c"};
    int[] ein = {1280, 2048};
    for (int i = 0; i < 2; i++) {
      String p = en[i];
      int in = ein[i];
      s.put(p + ".branch1x1", new int[] {320, in, 1, 1});
      s.put(p + ".branch3x3_1", new int[] {384, in, 1, 1});
      s.put(p + ".branch3x3_2a", new int[] {384, 384, 1, 3});
      s.put(p + ".branch3x3_2b", new int[] {384, 384, 3, 1});
      s.put(p + ".branch3x3dbl_1", new int[] {448, in, 1, 1});
      s.put(p + ".branch3x3dbl_2", new int[] {384, 448, 3, 3});
      s.put(p + ".branch3x3dbl_3a", new int[] {384, 384, 1, 3});
      s.put(p + ".branch3x3dbl_3b", new int[] {384, 384, 3, 1});
      s.put(p + ".branch_pool", new int[] {192, in, 1, 1});
    }
    return s;
  }

  /** Stride 2 for the stem's first conv and the grid-reduction convs (Mixed_6a, Mixed_7a); 1 elsewhere. */
  private static Shape stride(String name) {
    boolean two = name.equals("Conv2d_1a_3x3") || name.equals("Mixed_6a.branch3x3")
        || name.equals("Mixed_6a.branch3x3dbl_3") || name.equals("Mixed_7a.branch3x3_2")
        || name.equals("Mixed_7a.branch7x7x3_4");
    return two ? new Shape(2, 2) : new Shape(1, 1);
  }

  /** "Same" padding (k/2 per axis) except the unpadded stem convs and stride-2 reductions. */
  private static Shape padding(String name, long[] weightShape) {
    boolean valid = name.equals("Conv2d_1a_3x3") || name.equals("Conv2d_2a_3x3") || name.equals("Conv2d_4a_3x3")
        || stride(name).get(0) == 2;
    if (valid) {
      return new Shape(0, 0);
    }
    return new Shape(weightShape[2] / 2, weightShape[3] / 2);
  }

  @Override
  public void close() {
    manager.close();
  }
}
