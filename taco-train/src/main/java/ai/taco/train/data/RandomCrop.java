package ai.taco.train.data;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.util.SplittableRandom;

/**
 * A uniformly random {@code height × width} crop, returned as float RGB in [0, 1], CHW order (what torchvision's
 * {@code RandomCrop} + {@code ToTensor} give in the official dataset).
 *
 * <p><b>Images smaller than the crop</b> (the official code avoids them with a list of COCO images larger than 256;
 * torchvision's RandomCrop would fail on them): the image is first upscaled, keeping its aspect ratio, by
 * {@code s = max(height / h, width / w)} to {@code ceil(h·s) × ceil(w·s)} with bicubic interpolation, then cropped.
 * So the short side (relative to the crop) becomes exactly the crop size and nothing is padded.
 *
 * <p>Pixels: 8-bit and 16-bit samples are divided by {@code 2^bits − 1}; gray is repeated to RGB; alpha is dropped;
 * palette images go through their colour map.
 */
public record RandomCrop(int height, int width) {

  public RandomCrop {
    if (height <= 0 || width <= 0) {
      throw new IllegalArgumentException("crop size must be positive, got " + height + "x" + width);
    }
  }

  /** Crops {@code image} at offsets drawn from {@code rng} (top first, then left). */
  public float[] apply(BufferedImage image, SplittableRandom rng) {
    BufferedImage img = image;
    if (img.getHeight() < height || img.getWidth() < width) {
      img = upscale(img);
    }
    int top = rng.nextInt(img.getHeight() - height + 1);
    int left = rng.nextInt(img.getWidth() - width + 1);
    return toChw(img, left, top, width, height);
  }

  /** Upscaled size for an image smaller than the crop: {@code {h', w'}}. */
  int[] upscaledSize(int h, int w) {
    double s = Math.max((double) height / h, (double) width / w);
    return new int[] {Math.max(height, (int) Math.ceil(h * s - 1e-9)), Math.max(width, (int) Math.ceil(w * s - 1e-9))};
  }

  private BufferedImage upscale(BufferedImage img) {
    int[] hw = upscaledSize(img.getHeight(), img.getWidth());
    BufferedImage out = new BufferedImage(hw[1], hw[0], BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BICUBIC);
      g.drawImage(img, 0, 0, hw[1], hw[0], null);
    } finally {
      g.dispose();
    }
    return out;
  }

  /** Float CHW RGB in [0,1] of the given window. */
  static float[] toChw(BufferedImage img, int x0, int y0, int w, int h) {
    int plane = w * h;
    float[] out = new float[3 * plane];
    Raster r = img.getRaster();
    int bands = r.getNumBands();
    boolean direct =
        !(img.getColorModel() instanceof IndexColorModel)
            && (bands == 1 || bands == 2 || bands == 3 || bands == 4)
            && img.getType() != BufferedImage.TYPE_INT_RGB
            && img.getType() != BufferedImage.TYPE_INT_ARGB
            && img.getType() != BufferedImage.TYPE_INT_BGR;
    if (direct) {
      // Raw samples in band order (RGB[A] or gray[A]), so 16-bit data keeps its precision.
      float scale = 1f / ((1 << img.getColorModel().getComponentSize(0)) - 1);
      int[] px = r.getPixels(x0, y0, w, h, (int[]) null);
      boolean gray = bands <= 2;
      for (int i = 0; i < plane; i++) {
        int base = i * bands;
        float rr = px[base] * scale;
        out[i] = rr;
        out[plane + i] = gray ? rr : px[base + 1] * scale;
        out[2 * plane + i] = gray ? rr : px[base + 2] * scale;
      }
    } else {
      int[] argb = img.getRGB(x0, y0, w, h, null, 0, w);
      for (int i = 0; i < plane; i++) {
        int c = argb[i];
        out[i] = ((c >> 16) & 0xff) / 255f;
        out[plane + i] = ((c >> 8) & 0xff) / 255f;
        out[2 * plane + i] = (c & 0xff) / 255f;
      }
    }
    return out;
  }
}
