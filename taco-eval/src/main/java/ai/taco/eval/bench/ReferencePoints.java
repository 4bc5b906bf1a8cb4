package ai.taco.eval.bench;

import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Published points (not measured in this run) shown next to the measured results: in {@code summary.md} and, for the
 * rate-distortion metrics, as dashed curves on the plots. The shipped file {@code reference-points.csv} holds
 * CompressAI's ELIC and VTM Kodak points and every result number the TACO paper's text states (Section 4.2, Tables
 * 1-3). Columns are matched by header name: {@code dataset}, {@code codec}, {@code bpp} and {@code source} are
 * required, {@code setting} optional, and every other column is a published quantity ({@link #METRICS} for rate
 * distortion; e.g. {@code bleu4}, {@code encode_ms} for text similarity and latency); an empty cell = not published,
 * {@code #} starts a comment line. Users' files may carry any subset of the quantity columns.
 */
public final class ReferencePoints {

  /** Rate-distortion metric columns (those plotted against bpp), in file order. */
  public static final List<String> METRICS = List.of("psnr", "ms_ssim", "lpips", "fid", "cmmd");

  /** Columns that describe a point rather than publish a quantity. */
  static final List<String> DESCRIPTIVE = List.of("dataset", "codec", "setting", "bpp", "source");

  static final String BUILTIN = "reference-points.csv";

  /**
   * One published point.
   *
   * @param metrics the published quantities by column name, in file column order (rate-distortion metrics, text
   *     similarity, latency, ...)
   * @param source where the numbers come from (file at a commit, or paper and section/table)
   */
  public record Point(String dataset, String codec, String setting, double bpp, Map<String, Double> metrics,
      String source) {}

  private ReferencePoints() {}

  /** The points shipped with TACO-J. */
  public static List<Point> builtin() {
    try (InputStream in = ReferencePoints.class.getResourceAsStream(BUILTIN)) {
      if (in == null) {
        throw new BenchmarkException("resource " + BUILTIN + " missing from the class path");
      }
      return parse(in, BUILTIN);
    } catch (IOException e) {
      throw new BenchmarkException("cannot read " + BUILTIN + ": " + e.getMessage(), e);
    }
  }

  public static List<Point> read(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      return parse(in, file.toString());
    } catch (IOException e) {
      throw new BenchmarkException("cannot read reference points " + file + ": " + e.getMessage(), e);
    }
  }

  /** Points of one dataset (case-insensitive; "kodak" matches a dataset folder named "kodak" or "Kodak"). */
  public static List<Point> forDataset(List<Point> points, String dataset) {
    List<Point> out = new ArrayList<>();
    for (Point p : points) {
      if (p.dataset().equalsIgnoreCase(dataset)) {
        out.add(p);
      }
    }
    return out;
  }

  static List<Point> parse(InputStream in, String what) throws IOException {
    CsvMapper mapper = new CsvMapper();
    mapper.enable(CsvParser.Feature.TRIM_SPACES);
    CsvSchema schema = CsvSchema.emptySchema().withHeader().withComments();
    List<Point> out = new ArrayList<>();
    try (MappingIterator<Map<String, String>> it =
        mapper.readerForMapOf(String.class).with(schema).readValues(in)) {
      int row = 1;
      while (it.hasNext()) {
        row++;
        Map<String, String> r = it.next();
        for (String col : List.of("dataset", "codec", "bpp", "source")) {
          String v = r.get(col);
          if (v == null || v.isBlank()) {
            throw new BenchmarkException(what + " row " + row + ": column '" + col + "' is missing or empty");
          }
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        for (Map.Entry<String, String> c : r.entrySet()) {
          String v = c.getValue();
          if (!DESCRIPTIVE.contains(c.getKey()) && v != null && !v.isBlank()) {
            String name = c.getKey().trim().toLowerCase(Locale.ROOT);
            metrics.put(name, number(v, what, row, name));
          }
        }
        if (metrics.isEmpty()) {
          throw new BenchmarkException(what + " row " + row + ": no metric value");
        }
        out.add(
            new Point(
                r.get("dataset").toLowerCase(Locale.ROOT),
                r.get("codec"),
                r.getOrDefault("setting", ""),
                number(r.get("bpp"), what, row, "bpp"),
                metrics,
                r.get("source")));
      }
    } catch (RuntimeException e) {
      if (e instanceof BenchmarkException) {
        throw e;
      }
      throw new BenchmarkException("malformed CSV " + what + ": " + e.getMessage(), e);
    }
    return out;
  }

  private static double number(String v, String what, int row, String col) {
    try {
      return Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new BenchmarkException(what + " row " + row + ": '" + col + "' is not a number: " + v);
    }
  }
}
