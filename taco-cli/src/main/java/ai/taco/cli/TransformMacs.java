package ai.taco.cli;

import ai.taco.core.TacoConfig;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Multiply-accumulates of every gA and gS step for one padded image, counted from the layer shapes (the arithmetic of
 * the official networks, not of any particular kernel), under the step names the codec reports
 * ({@code gA.4 Conv}, ...). For the roofline report of {@code taco bench}.
 *
 * <p>Per output position: a k×k convolution costs k²·in·out; a 5×5/2 transposed convolution 25·in·out per INPUT
 * position; a residual bottleneck or a residual unit of the attention block (1×1 n→n/2, 3×3 n/2→n/2, 1×1 n/2→n)
 * 3.25·n²; an attention block six units and a 1×1 gate, 20.5·n²; an Injector (positions attend to T caption tokens)
 * 2·n² + 2·T·n, plus its caption projections; the Extractor (T caption tokens attend to all positions) projects every
 * position to the text width d and to keys and values, n·d + 2·d², plus 2·T·d for scores and weighted sum.
 */
final class TransformMacs {
  private TransformMacs() {}

  /** Residual bottleneck / residual unit per position. */
  private static double bottleneck(int n) {
    return n * (n / 2.0) + 9 * (n / 2.0) * (n / 2.0) + (n / 2.0) * n;
  }

  private static double attentionBlock(int n) {
    return 6 * bottleneck(n) + (double) n * n;
  }

  /** gA on a padded h×w image with {@code tokens} caption tokens: MACs by step name. */
  static Map<String, Double> analysis(TacoConfig c, long h, long w, int tokens) {
    int n = c.n();
    int d = c.textDim();
    double p2 = h * w / 4.0;
    double p4 = p2 / 4;
    double p8 = p4 / 4;
    double p16 = p8 / 4;
    double injector8 = p4 * (2.0 * n * n + 2.0 * tokens * n) + tokens * (d * (double) n + 2.0 * n * n);
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("gA.0 Conv", 25.0 * 3 * n * p2);
    for (int i = 1; i <= 3; i++) {
      m.put("gA." + i + " ResidualBottleneck", bottleneck(n) * p2);
    }
    m.put("gA.4 Conv", 25.0 * n * n * p4);
    for (int i = 5; i <= 7; i++) {
      m.put("gA." + i + " ResidualBottleneck", bottleneck(n) * p4);
    }
    m.put("gA.8 Injector", injector8);
    m.put("gA.9 AttentionBlock", attentionBlock(n) * p4);
    m.put("gA.10 Conv", 25.0 * n * n * p8);
    for (int i = 11; i <= 13; i++) {
      m.put("gA." + i + " ResidualBottleneck", bottleneck(n) * p8);
    }
    m.put("gA.14 Extractor", p8 * (n * (double) d + 2.0 * d * d + 2.0 * tokens * d) + tokens * 2.0 * d * d);
    m.put("gA.15 Injector", p8 * (2.0 * n * n + 2.0 * tokens * n) + tokens * (d * (double) n + 2.0 * n * n));
    m.put("gA.16 Conv", 25.0 * n * c.m() * p16);
    m.put("gA.17 AttentionBlock", attentionBlock(c.m()) * p16);
    return m;
  }

  /** gS for a padded h×w image: MACs by step name. */
  static Map<String, Double> synthesis(TacoConfig c, long h, long w) {
    int n = c.n();
    double p2 = h * w / 4.0;
    double p4 = p2 / 4;
    double p8 = p4 / 4;
    double p16 = p8 / 4;
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("gS.0 AttentionBlock", attentionBlock(c.m()) * p16);
    m.put("gS.1 TransposedConv", 25.0 * c.m() * n * p16);
    for (int i = 2; i <= 4; i++) {
      m.put("gS." + i + " ResidualBottleneck", bottleneck(n) * p8);
    }
    m.put("gS.5 TransposedConv", 25.0 * n * n * p8);
    m.put("gS.6 AttentionBlock", attentionBlock(n) * p4);
    for (int i = 7; i <= 9; i++) {
      m.put("gS." + i + " ResidualBottleneck", bottleneck(n) * p4);
    }
    m.put("gS.10 TransposedConv", 25.0 * n * n * p4);
    for (int i = 11; i <= 13; i++) {
      m.put("gS." + i + " ResidualBottleneck", bottleneck(n) * p2);
    }
    m.put("gS.14 TransposedConv", 25.0 * n * 3 * p2);
    return m;
  }

  static double total(Map<String, Double> m) {
    return m.values().stream().mapToDouble(Double::doubleValue).sum();
  }
}
