package ai.taco.cli;

import ai.taco.core.tensor.HostTensor;
import ai.taco.core.image.Images;
import ai.taco.metrics.MetricException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/** Image folders and files for the metric commands; decoding is {@link Images#read(Path)}. */
final class ImageFiles {
  /** Extensions listed by {@link #list(Path)}. */
  static final List<String> EXTENSIONS = List.of(".png", ".jpg", ".jpeg", ".bmp");

  private ImageFiles() {}

  /** A decoded image: planar RGB floats in [0,1] ([3,H,W] row-major). */
  record Rgb(Path path, int width, int height, float[] planar) {}

  static Rgb read(Path path) {
    HostTensor t = Images.read(path);
    return new Rgb(path, (int) t.shape()[3], (int) t.shape()[2], t.toFloatArray());
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
