package ai.taco.eval.bench;

import ai.taco.core.image.Images;
import ai.taco.core.tensor.HostTensor;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;

/**
 * An RGB image as planar floats in [0,1] (channel-major, like one [3,H,W] tensor), independent of any tensor library so
 * that codecs, metrics and writers can exchange images without native memory.
 *
 * <p>Values are kept as a decoder gives them (possibly outside [0,1]) and only clamped when written as 8-bit pixels.
 */
public record RgbImage(int width, int height, float[] planes) {

  /** Largest side we accept when reading, so a corrupt header cannot make us allocate gigabytes. */
  private static final int MAX_SIDE = 1 << 15;

  public RgbImage {
    if (width <= 0 || height <= 0) {
      throw new BenchmarkException("image size must be positive, got " + width + "x" + height);
    }
    if (planes.length != 3L * width * height) {
      throw new BenchmarkException(
          "expected 3x" + height + "x" + width + " = " + 3L * width * height + " values, got " + planes.length);
    }
  }

  public float get(int channel, int y, int x) {
    return planes[(channel * height + y) * width + x];
  }

  /**
   * Reads any image javax.imageio can decode (PNG, JPEG, BMP, ...) with taco-core's {@link Images#read}: 8/16-bit
   * samples scaled exactly, gray replicated to RGB, alpha dropped.
   */
  public static RgbImage read(Path file) {
    HostTensor t = Images.read(file);
    long[] s = t.shape();
    return new RgbImage(Math.toIntExact(s[3]), Math.toIntExact(s[2]), t.toFloatArray());
  }

  /** Decodes image bytes (e.g. the output of a baseline codec). */
  public static RgbImage decode(byte[] bytes, String what) {
    BufferedImage bi;
    try {
      bi = ImageIO.read(new java.io.ByteArrayInputStream(bytes));
    } catch (IOException e) {
      throw new BenchmarkException("cannot decode " + what + ": " + e.getMessage(), e);
    }
    if (bi == null) {
      throw new BenchmarkException("not a decodable image: " + what);
    }
    return fromBufferedImage(bi, what);
  }

  /**
   * Raw raster samples scaled by the sample depth: exact for 8- and 16-bit gray/RGB(A) PNGs, unlike AWT colour
   * conversion (docs/djl-traps.md).
   */
  static RgbImage fromBufferedImage(BufferedImage bi, String what) {
    int w = bi.getWidth();
    int h = bi.getHeight();
    if (w > MAX_SIDE || h > MAX_SIDE) {
      throw new BenchmarkException(what + ": image too large (" + w + "x" + h + ")");
    }
    Raster r = bi.getRaster();
    int bands = r.getNumBands();
    int depth = bi.getColorModel().getComponentSize(0);
    boolean indexed = bi.getColorModel() instanceof java.awt.image.IndexColorModel;
    float[] out = new float[3 * w * h];
    int plane = w * h;
    if (indexed || depth > 16 || (bands != 1 && bands != 2 && bands != 3 && bands != 4)) {
      // Palette or unusual layouts: let AWT convert to 8-bit sRGB.
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          int argb = bi.getRGB(x, y);
          int i = y * w + x;
          out[i] = ((argb >> 16) & 0xff) / 255f;
          out[plane + i] = ((argb >> 8) & 0xff) / 255f;
          out[2 * plane + i] = (argb & 0xff) / 255f;
        }
      }
      return new RgbImage(w, h, out);
    }
    float scale = (float) ((1 << depth) - 1);
    int[] px = new int[bands];
    boolean gray = bands <= 2;
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        r.getPixel(x, y, px);
        int i = y * w + x;
        if (gray) {
          float v = px[0] / scale;
          out[i] = v;
          out[plane + i] = v;
          out[2 * plane + i] = v;
        } else {
          out[i] = px[0] / scale;
          out[plane + i] = px[1] / scale;
          out[2 * plane + i] = px[2] / scale;
        }
      }
    }
    return new RgbImage(w, h, out);
  }

  /** 8-bit sRGB pixels: round(clamp(v,0,1)*255), half to even like torch.round. */
  public BufferedImage toBufferedImage() {
    BufferedImage bi = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    WritableRaster r = bi.getRaster();
    int plane = width * height;
    int[] px = new int[3];
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int i = y * width + x;
        px[0] = to8bit(planes[i]);
        px[1] = to8bit(planes[plane + i]);
        px[2] = to8bit(planes[2 * plane + i]);
        r.setPixel(x, y, px);
      }
    }
    return bi;
  }

  static int to8bit(float v) {
    float c = Math.max(0f, Math.min(1f, v));
    return (int) Math.rint(c * 255f);
  }

  /** This image rounded to 8 bits per sample, as a decoder writing a PNG would deliver it. */
  public RgbImage quantized8() {
    float[] q = new float[planes.length];
    for (int i = 0; i < q.length; i++) {
      q[i] = to8bit(planes[i]) / 255f;
    }
    return new RgbImage(width, height, q);
  }

  /**
   * This image as the official evaluation saves it and a PNG reader gets it back: torchvision {@code save_image}
   * (the official {@code figures/}) writes {@code uint8(clamp(v·255 + 0.5, 0, 255))} in float32 arithmetic (the
   * conversion truncates, so ties round up), and {@code ToTensor} reads {@code k/255}. Differs from
   * {@link #quantized8()} (ties to even) only where {@code v·255} is exactly halfway between two levels.
   */
  public RgbImage asSaveImagePng() {
    float[] q = new float[planes.length];
    for (int i = 0; i < q.length; i++) {
      q[i] = saveImage8bit(planes[i]) / 255f;
    }
    return new RgbImage(width, height, q);
  }

  /** torchvision save_image's sample: {@code x.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8)}. */
  static int saveImage8bit(float v) {
    float t = v * 255f + 0.5f;
    return (int) Math.max(0f, Math.min(255f, t));
  }

  /** Writes an 8-bit PNG (taco-core's {@link Images#writePng}: round(clamp(v,0,1)·255), atomic), replacing a file. */
  public void writePng(Path file) {
    try {
      Path parent = file.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
    } catch (IOException e) {
      throw new BenchmarkException("cannot create the folder of " + file + ": " + e.getMessage(), e);
    }
    Images.writePng(planes, height, width, file, true);
  }

  /** The window [top, top+h) x [left, left+w). */
  public RgbImage crop(int top, int left, int h, int w) {
    if (top < 0 || left < 0 || h <= 0 || w <= 0 || top + h > height || left + w > width) {
      throw new BenchmarkException(
          "crop " + h + "x" + w + " at (" + top + "," + left + ") outside a " + height + "x" + width + " image");
    }
    float[] out = new float[3 * h * w];
    for (int c = 0; c < 3; c++) {
      for (int y = 0; y < h; y++) {
        System.arraycopy(planes, (c * height + top + y) * width + left, out, (c * h + y) * w, w);
      }
    }
    return new RgbImage(w, h, out);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RgbImage other
        && other.width == width
        && other.height == height
        && Arrays.equals(other.planes, planes);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * width + height) + Arrays.hashCode(planes);
  }

  @Override
  public String toString() {
    return "RgbImage[" + width + "x" + height + "]";
  }
}
