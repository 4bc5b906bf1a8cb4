package ai.taco.eval.cli;

import ai.taco.eval.metrics.MetricException;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * Reads images as float RGB in [0,1], planar [3,H,W], from the raw raster samples (exact for 8- and 16-bit PNG; gray is
 * repeated to 3 channels, alpha dropped). Stand-in until {@code ai.taco.core.io.Images} is merged.
 */
final class ImageFiles {
  /** Extensions listed by {@link #list(Path)}. */
  static final List<String> EXTENSIONS = List.of(".png", ".jpg", ".jpeg", ".bmp");

  private ImageFiles() {}

  /** A decoded image: planar RGB floats in [0,1]. */
  record Rgb(Path path, int width, int height, float[] planar) {}

  static Rgb read(Path path) {
    if (!Files.isRegularFile(path)) {
      throw new MetricException("image not found: " + path);
    }
    BufferedImage img;
    try {
      img = ImageIO.read(path.toFile());
    } catch (IOException e) {
      throw new MetricException("cannot read image " + path + ": " + e.getMessage(), e);
    }
    if (img == null) {
      throw new MetricException("cannot read image " + path + ": not a supported image file (PNG, JPEG, BMP)");
    }
    Raster r = img.getRaster();
    int w = img.getWidth();
    int h = img.getHeight();
    int bands = r.getNumBands();
    int bits = img.getColorModel().getComponentSize(0);
    if (img.getColorModel().hasAlpha() ? bands < 2 : bands < 1) {
      throw new MetricException("unsupported image layout in " + path);
    }
    boolean indexed = img.getType() == BufferedImage.TYPE_BYTE_INDEXED
        || img.getType() == BufferedImage.TYPE_BYTE_BINARY;
    float[] out = new float[3 * w * h];
    int plane = w * h;
    if (indexed) {
      // Palette images: resolve colours through the colour model (8-bit RGB).
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          int rgb = img.getRGB(x, y);
          int i = y * w + x;
          out[i] = ((rgb >> 16) & 0xff) / 255f;
          out[plane + i] = ((rgb >> 8) & 0xff) / 255f;
          out[2 * plane + i] = (rgb & 0xff) / 255f;
        }
      }
      return new Rgb(path, w, h, out);
    }
    float max = (float) ((1L << bits) - 1);
    int colorBands = img.getColorModel().getNumColorComponents();
    int[] px = new int[bands];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        r.getPixel(x, y, px);
        int i = y * w + x;
        for (int c = 0; c < 3; c++) {
          int band = colorBands >= 3 ? c : 0;
          out[c * plane + i] = px[band] / max;
        }
      }
    }
    return new Rgb(path, w, h, out);
  }

  /** Image files directly in {@code dir}, sorted by name. */
  static List<Path> list(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new MetricException("not a directory: " + dir);
    }
    try (Stream<Path> s = Files.list(dir)) {
      List<Path> files = s.filter(Files::isRegularFile)
          .filter(p -> EXTENSIONS.stream().anyMatch(e -> p.getFileName().toString().toLowerCase(Locale.ROOT)
              .endsWith(e)))
          .sorted()
          .toList();
      if (files.isEmpty()) {
        throw new MetricException("no images (" + String.join(", ", EXTENSIONS) + ") in " + dir);
      }
      return files;
    } catch (IOException e) {
      throw new MetricException("cannot list " + dir + ": " + e.getMessage(), e);
    }
  }
}
