package ai.taco.eval.bench;

import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.SequenceWriter;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The per-image CSV ({@code codec,setting,image,width,height,bytes,bpp,<metrics…>,text_source}), written one row at a
 * time as results arrive (each row flushed to the file before the next image starts) and read back to resume an
 * interrupted run. A process killed mid-write leaves at most one incomplete last line; {@link #read} drops it.
 */
final class PerImageCsv implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(PerImageCsv.class);
  private static final CsvMapper CSV = new CsvMapper();
  private static final List<String> LEADING = List.of("codec", "setting", "image", "width", "height", "bytes", "bpp");
  private static final String TRAILING = "text_source";

  private final Path file;
  private final List<String> metrics;
  private final Writer writer;
  private final SequenceWriter rows;

  private PerImageCsv(Path file, List<String> metrics, Writer writer) throws IOException {
    this.file = file;
    this.metrics = List.copyOf(metrics);
    this.writer = writer;
    this.rows = CSV.writer(CsvSchema.emptySchema()).writeValues(writer);
  }

  /** The header: the fixed leading columns, one per metric, then {@code text_source}. */
  static List<String> columns(List<String> metrics) {
    List<String> c = new ArrayList<>(LEADING);
    c.addAll(metrics);
    c.add(TRAILING);
    return c;
  }

  /** Starts a new file (replacing any) holding only the header. */
  static PerImageCsv create(Path file, List<String> metrics) {
    try {
      Writer w = new OutputStreamWriter(Files.newOutputStream(file), StandardCharsets.UTF_8);
      PerImageCsv csv = new PerImageCsv(file, metrics, w);
      csv.writeRow(columns(metrics));
      return csv;
    } catch (IOException e) {
      throw new BenchmarkException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  /** Appends to a file {@link #read} has checked (and repaired); creates it when absent. */
  static PerImageCsv append(Path file, List<String> metrics) {
    if (!Files.exists(file)) {
      return create(file, metrics);
    }
    try {
      OutputStream out = Files.newOutputStream(file, StandardOpenOption.APPEND);
      return new PerImageCsv(file, metrics, new OutputStreamWriter(out, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new BenchmarkException("cannot append to " + file + ": " + e.getMessage(), e);
    }
  }

  /** Writes one result and flushes it, so a crash after this call cannot lose it. */
  void write(EvalResults.ImageResult r) {
    try {
      writeRow(row(r, metrics));
    } catch (IOException e) {
      throw new BenchmarkException("cannot write to " + file + ": " + e.getMessage(), e);
    }
  }

  private void writeRow(List<String> row) throws IOException {
    rows.write(row);
    rows.flush();
  }

  @Override
  public void close() {
    try {
      rows.close();
      writer.close();
    } catch (IOException e) {
      throw new BenchmarkException("cannot close " + file + ": " + e.getMessage(), e);
    }
  }

  /** The CSV fields of one result; doubles in full precision ({@link Double#toString} round-trips exactly). */
  static List<String> row(EvalResults.ImageResult i, List<String> metrics) {
    List<String> row = new ArrayList<>();
    row.add(i.codec());
    row.add(i.setting());
    row.add(i.image());
    row.add(Integer.toString(i.width()));
    row.add(Integer.toString(i.height()));
    row.add(Long.toString(i.bytes()));
    row.add(Double.toString(i.bpp()));
    for (String m : metrics) {
      Double v = i.metrics().get(m);
      row.add(v == null ? "" : Double.toString(v));
    }
    row.add(i.textSource());
    return row;
  }

  /** Writes a whole CSV (header and rows) atomically: a temporary file moved over {@code file}. */
  static void rewrite(Path file, List<String> metrics, List<EvalResults.ImageResult> results) {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try (PerImageCsv csv = create(tmp, metrics)) {
      for (EvalResults.ImageResult r : results) {
        csv.write(r);
      }
    }
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        ch.force(true);
      }
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new BenchmarkException("cannot replace " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reads the rows of a CSV written by this class for these metric columns. What a crash can leave is repaired in
   * place: an unterminated last line, or a last line that does not parse as a row, is dropped from the file (that
   * image is then simply computed again). Any other malformed line, or a header with other columns, is an error.
   * A missing file or one without a complete header holds no rows.
   */
  static List<EvalResults.ImageResult> read(Path file, List<String> metrics) {
    if (!Files.exists(file)) {
      return List.of();
    }
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new BenchmarkException("cannot read " + file + ": " + e.getMessage(), e);
    }
    int end = bytes.length;
    while (end > 0 && bytes[end - 1] != '\n') {
      end--;
    }
    List<List<String>> lines = new ArrayList<>();
    try (MappingIterator<List<String>> it = CSV.readerForListOf(String.class)
        .with(CsvParser.Feature.WRAP_AS_ARRAY)
        .readValues(new String(bytes, 0, end, StandardCharsets.UTF_8))) {
      while (it.hasNextValue()) {
        lines.add(it.nextValue());
      }
    } catch (IOException | RuntimeException e) {
      throw new BenchmarkException(file + " is not a readable CSV: " + e.getMessage(), e);
    }
    if (lines.isEmpty()) {
      // Not even a complete header: start the file again.
      create(file, metrics).close();
      return List.of();
    }
    List<String> expected = columns(metrics);
    if (!lines.get(0).equals(expected)) {
      throw new BenchmarkException(file + " has the columns " + lines.get(0) + ", this run writes " + expected);
    }
    List<EvalResults.ImageResult> out = new ArrayList<>();
    boolean dropped = end < bytes.length;
    for (int i = 1; i < lines.size(); i++) {
      try {
        out.add(parse(lines.get(i), metrics));
      } catch (BenchmarkException e) {
        if (i < lines.size() - 1) {
          throw new BenchmarkException(file + " row " + i + ": " + e.getMessage(), e);
        }
        dropped = true;
      }
    }
    if (dropped) {
      LOG.warn("{}: dropped an incomplete last row (interrupted while writing); that image is computed again", file);
      rewrite(file, metrics, out);
    }
    return out;
  }

  private static EvalResults.ImageResult parse(List<String> f, List<String> metrics) {
    int n = LEADING.size() + metrics.size() + 1;
    if (f.size() != n) {
      throw new BenchmarkException("expected " + n + " fields, got " + f.size());
    }
    try {
      Map<String, Double> values = new LinkedHashMap<>();
      for (int k = 0; k < metrics.size(); k++) {
        String v = f.get(LEADING.size() + k);
        if (!v.isEmpty()) {
          values.put(metrics.get(k), Double.parseDouble(v));
        }
      }
      return new EvalResults.ImageResult(f.get(0), f.get(1), f.get(2), Integer.parseInt(f.get(3)),
          Integer.parseInt(f.get(4)), Long.parseLong(f.get(5)), Double.parseDouble(f.get(6)), values, f.get(n - 1));
    } catch (NumberFormatException e) {
      throw new BenchmarkException("not a number: " + e.getMessage(), e);
    }
  }
}
