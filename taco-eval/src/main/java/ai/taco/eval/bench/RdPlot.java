package ai.taco.eval.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Rate-distortion plots: one PNG per metric ({@code rd_<metric>.png}), bits per pixel on x, the metric on y, one curve
 * per measured codec family (its operating points sorted by rate) and one dashed curve per published reference.
 */
public final class RdPlot {

  private static final int WIDTH = 900;
  private static final int HEIGHT = 640;

  private RdPlot() {}

  /**
   * Writes a plot for every measured metric and every published rate-distortion metric ({@link
   * ReferencePoints#METRICS}) that has at least one value; returns the files written. Published quantities that are
   * not a distortion (text similarity, latency) go to {@code summary.md} only.
   */
  public static List<Path> writeAll(EvalResults results, List<ReferencePoints.Point> references, Path dir) {
    List<String> metrics = new ArrayList<>(results.info().metrics());
    metrics.addAll(results.info().setMetrics());
    metrics.removeIf(m -> m.endsWith("_std")); // a spread (KID's), not a distortion: summary only
    for (ReferencePoints.Point p : references) {
      for (String m : p.metrics().keySet()) {
        if (!metrics.contains(m) && ReferencePoints.METRICS.contains(m)) {
          metrics.add(m);
        }
      }
    }
    List<Path> written = new ArrayList<>();
    for (String m : metrics) {
      Path file = dir.resolve("rd_" + m + ".png");
      if (write(results, references, m, file)) {
        written.add(file);
      }
    }
    return written;
  }

  /** Writes one metric's plot; false (and no file) when no measured or reference point has that metric. */
  public static boolean write(EvalResults results, List<ReferencePoints.Point> references, String metric,
      Path file) {
    XYChart chart = new XYChartBuilder()
        .width(WIDTH)
        .height(HEIGHT)
        .title(results.info().dataset() + ": " + ResultsWriter.header(metric) + " vs rate")
        .xAxisTitle("bits per pixel (bpp)")
        .yAxisTitle(ResultsWriter.header(metric))
        .build();
    chart.getStyler().setMarkerSize(7);
    int series = 0;
    Map<String, List<double[]>> measured = new LinkedHashMap<>();
    for (EvalResults.PointSummary p : results.points()) {
      Double v = p.metrics().get(metric);
      if (v != null && Double.isFinite(v)) {
        measured.computeIfAbsent(p.codec(), k -> new ArrayList<>()).add(new double[] {p.bpp(), v});
      }
    }
    for (Map.Entry<String, List<double[]>> e : measured.entrySet()) {
      addSeries(chart, e.getKey(), e.getValue(), false);
      series++;
    }
    Map<String, List<double[]>> published = new LinkedHashMap<>();
    for (ReferencePoints.Point p : references) {
      Double v = p.metrics().get(metric);
      if (v != null) {
        published.computeIfAbsent(p.codec() + " [published]", k -> new ArrayList<>())
            .add(new double[] {p.bpp(), v});
      }
    }
    for (Map.Entry<String, List<double[]>> e : published.entrySet()) {
      addSeries(chart, e.getKey(), e.getValue(), true);
      series++;
    }
    if (series == 0) {
      return false;
    }
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
    } catch (IOException e) {
      throw new BenchmarkException("cannot write plot " + file + ": " + e.getMessage(), e);
    }
    return true;
  }

  private static void addSeries(XYChart chart, String name, List<double[]> pts, boolean dashed) {
    pts.sort(Comparator.comparingDouble(p -> p[0]));
    double[] x = new double[pts.size()];
    double[] y = new double[pts.size()];
    for (int i = 0; i < pts.size(); i++) {
      x[i] = pts.get(i)[0];
      y[i] = pts.get(i)[1];
    }
    XYSeries s = chart.addSeries(name, x, y);
    if (dashed) {
      s.setLineStyle(new java.awt.BasicStroke(1.5f, java.awt.BasicStroke.CAP_BUTT, java.awt.BasicStroke.JOIN_ROUND,
          10f, new float[] {6f, 4f}, 0f));
      s.setMarker(SeriesMarkers.DIAMOND);
    } else {
      s.setMarker(SeriesMarkers.CIRCLE);
    }
  }
}
