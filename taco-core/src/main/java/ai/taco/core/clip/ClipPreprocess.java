package ai.taco.core.clip;

import ai.taco.core.error.ClipException;
import ai.taco.core.nn.Constants;
import ai.taco.core.nn.Scalars;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * TACO's {@code transform_for_clip} (effl-lab/TACO utils/utils.py), the image side of its joint loss, on float NCHW
 * tensors in [0, 1]:
 *
 * <pre>x*255 -> Resize(224) -> CenterCrop(224) -> x*0.00392156862745098 -> Normalize(CLIP mean, std)</pre>
 *
 * <ul>
 *   <li>Resize scales the SHORTER side to 224, the long side to {@code int(224*long/short)} (truncated), bilinear,
 *       {@code align_corners=False}. By default WITHOUT antialias, as torchvision 0.14 did on tensors (golden {@code
 *       pre}); {@code antialias=true} gives torchvision >= 0.17's default.
 *   <li>CenterCrop starts at {@code int(round((H-224)/2))}, Python's round (half to even): 373 -> row 74.
 *   <li>The x255 and x(1/255) are separate float32 multiplies, as in TACO (they do not cancel exactly).
 * </ul>
 *
 * <p>Resize and crop are separable interpolation matrices ({@code Wh x Ww^T}), so the whole transform is plain DJL
 * ops and autograd flows back to the input (DJL's own bilinear resize antialiases when downsampling, see
 * docs/djl-traps.md). Immutable and thread-safe.
 */
public final class ClipPreprocess {

  /** CLIP's input side (openai/clip-vit-base-patch32 {@code image_size}). */
  public static final int CLIP_SIZE = 224;

  /** Per-channel RGB mean and std of CLIP (OpenAI CLIP / HF CLIPImageProcessor, as TACO copies them). */
  static final float[] MEAN = {0.48145466f, 0.4578275f, 0.40821073f};

  static final float[] STD = {0.26862954f, 0.26130258f, 0.27577711f};

  /** TACO's {@code lambda x: x*255.0}. */
  private static final float TO_255 = 255.0f;

  /** TACO's {@code lambda x: x*0.00392156862745098} (1/255 as written in TACO, rounded to float32 by torch). */
  private static final float FROM_255 = (float) 0.00392156862745098;

  private final int size;
  private final boolean antialias;

  /**
   * @param size the output side (224 for ViT-B/32, 336 for ViT-L/14-336)
   * @param antialias {@code false} = torchvision 0.14 tensor semantics (TACO's golden), {@code true} = torchvision
   *     >= 0.17
   */
  public ClipPreprocess(int size, boolean antialias) {
    if (size <= 0) {
      throw new IllegalArgumentException("size must be positive, got " + size);
    }
    this.size = size;
    this.antialias = antialias;
  }

  /** TACO's transform at 224 without antialias (the default, golden {@code pre}). */
  public static ClipPreprocess taco() {
    return new ClipPreprocess(CLIP_SIZE, false);
  }

  public int size() {
    return size;
  }

  public boolean antialias() {
    return antialias;
  }

  /**
   * Applies the transform.
   *
   * @param x float32 {@code [B, 3, H, W]} in [0, 1]
   * @return {@code [B, 3, size, size]} on x's manager, differentiable w.r.t. x
   */
  public NDArray apply(NDArray x) {
    int[] hw = checkInput(x);
    int[] out = resizedSize(hw[0], hw[1], size);
    int top = cropOffset(out[0], size);
    int left = cropOffset(out[1], size);
    NDManager m = x.getManager();
    // The crop only keeps rows of the resize matrices, so resize+crop is one pair of matrices. They are libtorch-owned
    // (Constants): matMul saves them for the gradient w.r.t. x (the joint image-text loss differentiates through here).
    NDArray wh = Constants.of(m, matrix(hw[0], out[0], top, size), new Shape(size, hw[0]));
    NDArray wwT = Constants.of(m, transposed(matrix(hw[1], out[1], left, size), size, hw[1]), new Shape(hw[1], size));
    NDArray y = wh.matMul(Scalars.mul(x, TO_255)).matMul(wwT);
    return normalize(Scalars.mul(y, FROM_255));
  }

  /** {@code Resize(size)} of {@code x*255} alone, without the crop (the golden intermediate). */
  NDArray resizeTimes255(NDArray x) {
    int[] hw = checkInput(x);
    int[] out = resizedSize(hw[0], hw[1], size);
    NDManager m = x.getManager();
    NDArray wh = m.create(matrix(hw[0], out[0], 0, out[0]), new Shape(out[0], hw[0]));
    NDArray wwT = m.create(transposed(matrix(hw[1], out[1], 0, out[1]), out[1], hw[1]), new Shape(hw[1], out[1]));
    return wh.matMul(Scalars.mul(x, TO_255)).matMul(wwT);
  }

  private NDArray normalize(NDArray y) {
    NDManager m = y.getManager();
    NDArray mean = Constants.of(m, MEAN, new Shape(1, 3, 1, 1));
    NDArray std = Constants.of(m, STD, new Shape(1, 3, 1, 1)); // div saves it for backward
    return y.sub(mean).div(std);
  }

  private static int[] checkInput(NDArray x) {
    Shape s = x.getShape();
    if (s.dimension() != 4 || s.get(1) != 3 || s.get(2) < 1 || s.get(3) < 1) {
      throw new ClipException("CLIP preprocessing needs an RGB batch [B, 3, H, W], got " + s);
    }
    if (x.getDataType() != DataType.FLOAT32) {
      throw new ClipException("CLIP preprocessing needs float32 pixels in [0, 1], got " + x.getDataType());
    }
    return new int[] {(int) s.get(2), (int) s.get(3)};
  }

  /**
   * torchvision {@code Resize(size)} with an int size: the shorter side becomes {@code size}, the longer {@code
   * int(size * long / short)}.
   *
   * @return {@code {newH, newW}}
   */
  static int[] resizedSize(int h, int w, int size) {
    int shortSide = Math.min(h, w);
    int longSide = Math.max(h, w);
    int newLong = (int) ((double) ((long) size * longSide) / shortSide);
    return w <= h ? new int[] {newLong, size} : new int[] {size, newLong};
  }

  /** torchvision CenterCrop's offset {@code int(round((len - crop) / 2))}; Python rounds half to even. */
  static int cropOffset(int len, int crop) {
    if (len < crop) {
      throw new IllegalStateException("resized side " + len + " is smaller than the crop " + crop);
    }
    return (int) Math.rint((len - crop) / 2.0);
  }

  /**
   * Rows {@code [first, first+count)} of the {@code [out, in]} 1-D interpolation matrix from {@code in} to {@code
   * out} samples, row-major.
   */
  private float[] matrix(int in, int out, int first, int count) {
    float[] w = new float[count * in];
    for (int r = 0; r < count; r++) {
      if (antialias) {
        antialiasRow(w, r * in, in, out, first + r);
      } else {
        bilinearRow(w, r * in, in, out, first + r);
      }
    }
    return w;
  }

  /**
   * torch {@code upsample_bilinear2d(align_corners=False)} weights for output index i: source {@code
   * scale*(i+0.5)-0.5} clamped at 0, taps floor and floor+1 (clamped to the last sample). The scale is the float32
   * {@code in/out} but the source index is formed in double ({@code i + 0.5} is a double in ATen's
   * area_pixel_compute_source_index); fitting the golden {@code resized_x255} confirms this (float32 source indices
   * are off by up to 60 ulps at 255).
   */
  private static void bilinearRow(float[] w, int off, int in, int out, int i) {
    if (in == out) {
      w[off + i] = 1f;
      return;
    }
    float scale = (float) in / out;
    double src = scale * (i + 0.5) - 0.5;
    if (src < 0) {
      src = 0;
    }
    int i0 = Math.min((int) Math.floor(src), in - 1);
    float lambda1 = (float) Math.min(Math.max(src - i0, 0), 1);
    float lambda0 = 1f - lambda1;
    int i1 = i0 + (i0 < in - 1 ? 1 : 0);
    w[off + i0] += lambda0;
    w[off + i1] += lambda1;
  }

  /**
   * torch {@code _upsample_bilinear2d_aa} weights (PIL's triangle filter): support {@code max(scale, 1)} around the
   * centre {@code scale*(i+0.5)}, filter stretched by the scale when downsampling, normalised to sum 1.
   */
  private static void antialiasRow(float[] w, int off, int in, int out, int i) {
    float scale = (float) in / out;
    float support = scale >= 1f ? scale : 1f;
    float invScale = scale >= 1f ? 1f / scale : 1f;
    float center = scale * (i + 0.5f);
    int xmin = Math.max((int) (center - support + 0.5f), 0);
    int xsize = Math.min((int) (center + support + 0.5f), in) - xmin;
    float total = 0f;
    float[] tmp = new float[Math.max(xsize, 0)];
    for (int j = 0; j < xsize; j++) {
      float t = Math.abs((j + xmin - center + 0.5f) * invScale);
      tmp[j] = t < 1f ? 1f - t : 0f;
      total += tmp[j];
    }
    for (int j = 0; j < xsize; j++) {
      w[off + xmin + j] = total != 0f ? tmp[j] / total : tmp[j];
    }
  }

  private static float[] transposed(float[] a, int rows, int cols) {
    float[] t = new float[a.length];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        t[c * rows + r] = a[r * cols + c];
      }
    }
    return t;
  }
}
