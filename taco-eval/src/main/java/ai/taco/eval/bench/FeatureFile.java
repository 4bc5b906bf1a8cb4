package ai.taco.eval.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The per-image features of one set metric (FID: InceptionV3 pool3, CMMD: CLIP image embedding) for one operating
 * point or for the originals, appended one image at a time so that an interrupted run keeps every finished image's
 * features. Two files side by side:
 *
 * <ul>
 *   <li>{@code <stem>.f32}: the feature rows, raw little-endian float32, {@code dim} values each, in the order the
 *       images were computed (numpy: {@code np.fromfile(f, '<f4').reshape(-1, dim)});
 *   <li>{@code <stem>.txt}: UTF-8 lines, first {@code # dim=<dim>}, then the image name of each row, in row order.
 * </ul>
 *
 * A row is written (and flushed) before its name, so a crash leaves at most a partial last row or a row without a name;
 * {@link #open} cuts both files back to the rows that have both.
 */
final class FeatureFile implements AutoCloseable {

  private static final String DIM_HEADER = "# dim=";

  private final Path data;
  private final Path index;
  /**
   * Image name → row number in {@link #data}, in row order. Only the names are held in memory: a point's features
   * (30k × 2048 floats for FID on MS-COCO) are read back from the file when the distance is computed.
   */
  private final Map<String, Integer> rows = new LinkedHashMap<>();
  private int dim;
  private int rowCount;
  private FileChannel dataOut;
  private FileChannel indexOut;

  private FeatureFile(Path dir, String stem) {
    this.data = dir.resolve(stem + ".f32");
    this.index = dir.resolve(stem + ".txt");
  }

  /** An empty feature file (replacing any earlier one of that name). */
  static FeatureFile create(Path dir, String stem) {
    FeatureFile f = new FeatureFile(dir, stem);
    try {
      Files.createDirectories(dir);
      Files.deleteIfExists(f.data);
      Files.deleteIfExists(f.index);
    } catch (IOException e) {
      throw new BenchmarkException("cannot create " + f.data + ": " + e.getMessage(), e);
    }
    return f;
  }

  /** The rows an earlier (possibly interrupted) run wrote; incomplete trailing rows are cut off the files. */
  static FeatureFile open(Path dir, String stem) {
    FeatureFile f = new FeatureFile(dir, stem);
    if (!Files.exists(f.index) || !Files.exists(f.data)) {
      return create(dir, stem);
    }
    try {
      f.load();
    } catch (IOException e) {
      throw new BenchmarkException("cannot read " + f.data + ": " + e.getMessage(), e);
    }
    return f;
  }

  private void load() throws IOException {
    byte[] text = Files.readAllBytes(index);
    int end = text.length;
    while (end > 0 && text[end - 1] != '\n') {
      end--;
    }
    List<String> lines = new ArrayList<>(List.of(new String(text, 0, end, StandardCharsets.UTF_8).split("\n", -1)));
    lines.remove(lines.size() - 1); // after the last '\n'
    if (lines.isEmpty()) {
      // Not even the header was written: nothing to keep.
      Files.deleteIfExists(data);
      Files.deleteIfExists(index);
      return;
    }
    if (!lines.get(0).startsWith(DIM_HEADER)) {
      throw new BenchmarkException(index + " does not start with '" + DIM_HEADER + "<dim>'");
    }
    try {
      dim = Integer.parseInt(lines.get(0).substring(DIM_HEADER.length()).trim());
    } catch (NumberFormatException e) {
      throw new BenchmarkException(index + ": bad header '" + lines.get(0) + "'", e);
    }
    if (dim <= 0) {
      throw new BenchmarkException(index + ": bad feature dimension " + dim);
    }
    long size = Files.size(data);
    int n = (int) Math.min(lines.size() - 1, size / rowBytes());
    for (int r = 0; r < n; r++) {
      rows.put(lines.get(r + 1), r);
    }
    rowCount = n;
    if (n != lines.size() - 1 || size != n * rowBytes() || end != text.length) {
      // A crash mid-append: keep exactly the rows that have both their values and their name (a prefix).
      try (FileChannel ch = FileChannel.open(data, StandardOpenOption.WRITE)) {
        ch.truncate(n * rowBytes());
      }
      StringBuilder names = new StringBuilder(lines.get(0)).append('\n');
      lines.subList(1, n + 1).forEach(l -> names.append(l).append('\n'));
      Path tmp = index.resolveSibling(index.getFileName() + ".tmp");
      Files.writeString(tmp, names, StandardCharsets.UTF_8);
      Files.move(tmp, index, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
  }

  private long rowBytes() {
    return 4L * dim;
  }

  boolean has(String image) {
    return rows.containsKey(image);
  }

  /** Names with features, in row order. */
  Set<String> images() {
    return Collections.unmodifiableSet(rows.keySet());
  }

  /** One image's features, read from the file. */
  float[] get(String image) {
    return get(List.of(image)).get(0);
  }

  /** The features of these images, in this order, read from the file. */
  List<float[]> get(List<String> images) {
    List<float[]> out = new ArrayList<>(images.size());
    try (FileChannel ch = FileChannel.open(data, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocate((int) rowBytes()).order(ByteOrder.LITTLE_ENDIAN);
      for (String image : images) {
        float[] v = new float[dim];
        readRow(ch, image, b).asFloatBuffer().get(v);
        out.add(v);
      }
    } catch (IOException e) {
      throw new BenchmarkException("cannot read " + data + ": " + e.getMessage(), e);
    }
    return out;
  }

  /** Reads the row of {@code image} into {@code b} (cleared first); returns it flipped for reading. */
  private ByteBuffer readRow(FileChannel ch, String image, ByteBuffer b) throws IOException {
    Integer r = rows.get(image);
    if (r == null) {
      throw new BenchmarkException(data + " holds no features of " + image);
    }
    b.clear();
    long pos = r * rowBytes();
    while (b.hasRemaining()) {
      if (ch.read(b, pos + b.position()) < 0) {
        throw new BenchmarkException(data + " ends inside the features of " + image);
      }
    }
    return b.flip();
  }

  /** Appends one image's features to both files (the values first, then the name), written through to the OS. */
  void append(String image, float[] features) {
    if (image.indexOf('\n') >= 0 || image.indexOf('\r') >= 0) {
      throw new BenchmarkException("image name with a line break cannot be recorded: " + image);
    }
    if (rows.containsKey(image)) {
      throw new BenchmarkException(data + " already holds features of " + image);
    }
    try {
      if (dim == 0) {
        dim = features.length;
        Files.writeString(index, DIM_HEADER + dim + "\n", StandardCharsets.UTF_8);
      }
      if (features.length != dim) {
        throw new BenchmarkException(data + " holds " + dim + "-d features, got " + features.length + " values for "
            + image);
      }
      ByteBuffer b = ByteBuffer.allocate((int) rowBytes()).order(ByteOrder.LITTLE_ENDIAN);
      b.asFloatBuffer().put(features);
      writeFully(dataOut(), b);
      writeFully(indexOut(), ByteBuffer.wrap((image + "\n").getBytes(StandardCharsets.UTF_8)));
    } catch (IOException e) {
      throw new BenchmarkException("cannot append to " + data + ": " + e.getMessage(), e);
    }
    rows.put(image, rowCount++);
  }

  /** Keeps only the rows of these images (dropping the features of results that were never recorded). */
  void retain(Set<String> images) {
    List<String> kept = rows.keySet().stream().filter(images::contains).toList();
    if (kept.size() == rows.size()) {
      return;
    }
    try {
      closeChannels();
      Path tmpData = data.resolveSibling(data.getFileName() + ".tmp");
      Path tmpIndex = index.resolveSibling(index.getFileName() + ".tmp");
      StringBuilder names = new StringBuilder(DIM_HEADER).append(dim).append('\n');
      try (FileChannel in = FileChannel.open(data, StandardOpenOption.READ);
          FileChannel out = FileChannel.open(tmpData, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
              StandardOpenOption.TRUNCATE_EXISTING)) {
        // One row at a time: the kept rows can be far larger than the heap.
        ByteBuffer b = ByteBuffer.allocate((int) rowBytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (String name : kept) {
          writeFully(out, readRow(in, name, b));
          names.append(name).append('\n');
        }
      }
      Files.writeString(tmpIndex, names, StandardCharsets.UTF_8);
      Files.move(tmpData, data, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      Files.move(tmpIndex, index, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new BenchmarkException("cannot rewrite " + data + ": " + e.getMessage(), e);
    }
    rows.clear();
    for (int i = 0; i < kept.size(); i++) {
      rows.put(kept.get(i), i);
    }
    rowCount = kept.size();
  }

  private FileChannel dataOut() throws IOException {
    if (dataOut == null) {
      dataOut = FileChannel.open(data, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.APPEND);
    }
    return dataOut;
  }

  private FileChannel indexOut() throws IOException {
    if (indexOut == null) {
      indexOut = FileChannel.open(index, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.APPEND);
    }
    return indexOut;
  }

  private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  private void closeChannels() throws IOException {
    if (dataOut != null) {
      dataOut.close();
      dataOut = null;
    }
    if (indexOut != null) {
      indexOut.close();
      indexOut = null;
    }
  }

  @Override
  public void close() {
    try {
      closeChannels();
    } catch (IOException e) {
      throw new BenchmarkException("cannot close " + data + ": " + e.getMessage(), e);
    }
  }
}
