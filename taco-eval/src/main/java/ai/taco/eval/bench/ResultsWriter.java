package ai.taco.eval.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** Writes a run's per-image CSV, summary JSON and Markdown table. */
public final class ResultsWriter {

  public static final String PER_IMAGE_CSV = "per_image.csv";
  public static final String SUMMARY_JSON = "summary.json";
  public static final String SUMMARY_MD = "summary.md";

  private ResultsWriter() {}

  /** Writes the three files into {@code dir} and returns their paths. */
  public static List<Path> writeAll(EvalResults r, Path dir) {
    return writeAll(r, List.of(), dir);
  }

  /**
   * As {@link #writeAll(EvalResults, Path)}, with the published points of the run's dataset (see {@link
   * ReferencePoints#forDataset}) listed in {@code summary.md} after the measured rows.
   */
  public static List<Path> writeAll(EvalResults r, List<ReferencePoints.Point> references, Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new BenchmarkException("cannot create " + dir + ": " + e.getMessage(), e);
    }
    Path csv = dir.resolve(PER_IMAGE_CSV);
    Path json = dir.resolve(SUMMARY_JSON);
    Path md = dir.resolve(SUMMARY_MD);
    writeCsv(r, csv);
    writeJson(r, json);
    writeMarkdown(r, references, md);
    return List.of(csv, json, md);
  }

  /**
   * Columns: codec,setting,image,width,height,bytes,bpp, one per metric, text_source. Doubles in full precision. The
   * file is replaced atomically, so the row-by-row CSV of an interrupted run is never lost half-rewritten.
   */
  public static void writeCsv(EvalResults r, Path file) {
    PerImageCsv.rewrite(file, r.info().metrics(), r.images());
  }

  public static void writeJson(EvalResults r, Path file) {
    ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = om.createObjectNode();
    EvalResults.Info info = r.info();
    root.put("dataset", info.dataset());
    root.put("images", info.images());
    root.put("caption_mode", info.captionMode());
    root.put("text_source", info.textSource());
    root.put("captions_used", info.captionsUsed());
    ArrayNode metrics = root.putArray("metrics");
    info.metrics().forEach(metrics::add);
    ArrayNode setMetrics = root.putArray("set_metrics");
    info.setMetrics().forEach(setMetrics::add);
    ArrayNode notes = root.putArray("notes");
    info.notes().forEach(notes::add);
    ArrayNode points = root.putArray("points");
    for (EvalResults.PointSummary p : r.points()) {
      ObjectNode n = points.addObject();
      n.put("codec", p.codec());
      n.put("setting", p.setting());
      n.put("images", p.images());
      n.put("bpp", p.bpp());
      p.metrics().forEach(n::put);
    }
    try {
      om.writeValue(file.toFile(), root);
    } catch (IOException e) {
      throw new BenchmarkException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  public static void writeMarkdown(EvalResults r, Path file) {
    writeMarkdown(r, List.of(), file);
  }

  /**
   * The measured table, then (when {@code references} is not empty) a table of the published points with their
   * sources, its columns the measured metrics the points share followed by their other quantities.
   */
  public static void writeMarkdown(EvalResults r, List<ReferencePoints.Point> references, Path file) {
    EvalResults.Info info = r.info();
    List<String> cols = new ArrayList<>(info.metrics());
    cols.addAll(info.setMetrics());
    StringBuilder sb = new StringBuilder();
    sb.append("# ").append(info.dataset()).append(": ").append(info.images()).append(" images\n\n");
    sb.append("Caption mode: ").append(info.captionMode()).append(". Text embeddings: ").append(info.textSource())
        .append(".\n\n");
    sb.append("| codec | setting | images | bpp |");
    cols.forEach(c -> sb.append(' ').append(header(c)).append(" |"));
    sb.append("\n|---|---|---:|---:|");
    cols.forEach(c -> sb.append("---:|"));
    sb.append('\n');
    for (EvalResults.PointSummary p : r.points()) {
      sb.append("| ").append(p.codec()).append(" | ").append(p.setting()).append(" | ").append(p.images())
          .append(" | ").append(fmt(p.bpp(), 4)).append(" |");
      for (String c : cols) {
        Double v = p.metrics().get(c);
        sb.append(' ').append(v == null ? "-" : fmt(v, digits(c))).append(" |");
      }
      sb.append('\n');
    }
    if (!references.isEmpty()) {
      appendReferences(sb, cols, references);
    }
    if (!info.notes().isEmpty()) {
      sb.append("\nNotes:\n");
      info.notes().forEach(n -> sb.append("- ").append(n).append('\n'));
    }
    try {
      Files.writeString(file, sb.toString(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new BenchmarkException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  private static void appendReferences(StringBuilder sb, List<String> measured, List<ReferencePoints.Point> refs) {
    Set<String> cols = new LinkedHashSet<>();
    for (String c : measured) {
      if (refs.stream().anyMatch(p -> p.metrics().containsKey(c))) {
        cols.add(c);
      }
    }
    refs.forEach(p -> cols.addAll(p.metrics().keySet()));
    sb.append("\nPublished points for this dataset (not measured here; from the sources named):\n\n");
    sb.append("| codec | setting | bpp |");
    cols.forEach(c -> sb.append(' ').append(header(c)).append(" |"));
    sb.append(" source |\n|---|---|---:|");
    cols.forEach(c -> sb.append("---:|"));
    sb.append("---|\n");
    for (ReferencePoints.Point p : refs) {
      sb.append("| ").append(cell(p.codec())).append(" | ").append(cell(p.setting())).append(" | ")
          .append(fmt(p.bpp(), 4)).append(" |");
      for (String c : cols) {
        Double v = p.metrics().get(c);
        sb.append(' ').append(v == null ? "-" : fmt(v, digits(c))).append(" |");
      }
      sb.append(' ').append(cell(p.source())).append(" |\n");
    }
  }

  /** A Markdown table cell: a literal '|' would end the cell. */
  private static String cell(String s) {
    return s.replace("|", "\\|");
  }

  static String header(String metric) {
    return switch (metric) {
      case "psnr" -> "PSNR (dB)";
      case "ms_ssim" -> "MS-SSIM";
      case "lpips" -> "LPIPS";
      case "fid" -> "FID";
      case "kid" -> "KID";
      case "kid_std" -> "KID std";
      case "pieapp" -> "PieAPP";
      case "cmmd" -> "CMMD";
      case "bleu4" -> "BLEU-4";
      case "cider_d" -> "CIDEr-D";
      case "spice" -> "SPICE";
      case "encode_ms" -> "encode (ms)";
      case "decode_ms" -> "decode (ms)";
      case "total_ms" -> "total (ms)";
      default -> metric;
    };
  }

  private static int digits(String metric) {
    if (metric.endsWith("_ms")) {
      return 2;
    }
    return switch (metric) {
      case "psnr", "fid", "cmmd" -> 3;
      default -> 4;
    };
  }

  private static String fmt(double v, int digits) {
    return String.format(Locale.ROOT, "%." + digits + "f", v);
  }
}
