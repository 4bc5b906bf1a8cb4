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
import java.util.List;
import java.util.Locale;

/** Writes a run's per-image CSV, summary JSON and Markdown table. */
public final class ResultsWriter {

  public static final String PER_IMAGE_CSV = "per_image.csv";
  public static final String SUMMARY_JSON = "summary.json";
  public static final String SUMMARY_MD = "summary.md";

  private ResultsWriter() {}

  /** Writes the three files into {@code dir} and returns their paths. */
  public static List<Path> writeAll(EvalResults r, Path dir) {
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
    writeMarkdown(r, md);
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

  static String header(String metric) {
    return switch (metric) {
      case "psnr" -> "PSNR (dB)";
      case "ms_ssim" -> "MS-SSIM";
      case "lpips" -> "LPIPS";
      case "fid" -> "FID";
      case "cmmd" -> "CMMD";
      default -> metric;
    };
  }

  private static int digits(String metric) {
    return switch (metric) {
      case "psnr", "fid", "cmmd" -> 3;
      default -> 4;
    };
  }

  private static String fmt(double v, int digits) {
    return String.format(Locale.ROOT, "%." + digits + "f", v);
  }
}
