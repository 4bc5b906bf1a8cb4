package ai.taco.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Golden taco-small files for this package's tests (read with DJL's safetensors decoder, names kept). */
final class GoldenFiles {
  private GoldenFiles() {}

  static Path dir() {
    String p = System.getProperty("taco.golden");
    Path base = p != null ? Path.of(p) : Path.of("../../shared/golden");
    Path d = base.resolve("taco-small");
    if (!Files.isDirectory(d)) {
      throw new IllegalStateException("golden data not found at " + d.toAbsolutePath() + " (set -Dtaco.golden)");
    }
    return d;
  }

  static Map<String, NDArray> load(NDManager m, String file) {
    try {
      NDList list = NDList.decode(m, Files.readAllBytes(dir().resolve(file)));
      Map<String, NDArray> out = new LinkedHashMap<>();
      for (NDArray a : list) {
        out.put(a.getName(), a);
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** max |a - b| (shapes must match). */
  static double maxAbs(NDArray a, NDArray b) {
    if (!a.getShape().equals(b.getShape())) {
      throw new AssertionError("shape " + a.getShape() + " != " + b.getShape());
    }
    return a.sub(b).abs().max().toType(ai.djl.ndarray.types.DataType.FLOAT64, false).getDouble();
  }
}
