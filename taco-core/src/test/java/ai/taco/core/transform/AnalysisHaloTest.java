package ai.taco.core.transform;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.nn.NamedParameters;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Each of gA's tile halos ({@link TiledAnalysis}) is at least the receptive-field radius of its stage, measured on the
 * layers as {@link SynthesisHaloTest} measures gS's: a spike of 1e10 at one input position, and every output that
 * changes at all must read it through its halo. An output position o of a stage that downsamples by s reads its own
 * inputs s·o … s·o + s − 1 and the halo on either side (TiledAnalysis crops {@code span.times(s).expand(halo)}).
 *
 * <p>A small random model (the radii depend on kernel sizes and strides, which every preset shares); its Injectors
 * have gamma = 0 as freshly initialised, and they work per position anyway.
 */
class AnalysisHaloTest {
  private static final float SPIKE = 1e10f;

  /** The small preset's widths (N, M), its text width and heads. */
  private static final int N = 32;

  private static final int M = 64;

  private static final int TEXT_DIM = 512;

  private static final int HEADS = 8;

  @Test
  void headHaloCoversItsReceptiveField() {
    assertHaloCovers(0, 4, 3, 2, TiledAnalysis.HEAD_HALO, "head (steps 0-3, full → 1/2)");
  }

  @Test
  void bodyHaloCoversItsReceptiveField() {
    assertHaloCovers(4, AnalysisTransform.EXTRACTOR, N, 4, TiledAnalysis.BODY_HALO, "body (steps 4-13, 1/2 → 1/8)");
  }

  @Test
  void tailHaloCoversItsReceptiveField() {
    assertHaloCovers(AnalysisTransform.EXTRACTOR + 1, -1, N, 2, TiledAnalysis.TAIL_HALO, "tail (steps 15-17, 1/8 → 1/16)");
  }

  private static void assertHaloCovers(int from, int to, int channels, int scale, int halo, String what) {
    // Room beyond the halo on every side, and a size the stage's strides divide.
    int size = 8 * ((2 * halo + 4 * scale + 7) / 8) + 8 * scale;
    int radius = -1;
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NamedParameters p = new NamedParameters();
      AnalysisTransform gA = new AnalysisTransform(p, N, M, TEXT_DIM, HEADS);
      p.initialize(m, 7);
      int end = to < 0 ? gA.steps() : to;
      Random r = new Random(13);
      float[] base = new float[channels * size * size];
      for (int i = 0; i < base.length; i++) {
        base[i] = (float) r.nextGaussian();
      }
      float[] t = new float[5 * TEXT_DIM];
      for (int i = 0; i < t.length; i++) {
        t[i] = (float) r.nextGaussian();
      }
      NDArray text = m.create(t, new Shape(1, 5, TEXT_DIM));
      Shape shape = new Shape(1, channels, size, size);
      int tokens = size * size;
      float[] u = gA.image(from, end, m.create(base, shape), text, tokens, s -> {}).toFloatArray();
      // The spike at every offset from the stride grid: how far an output reads to each side depends on it.
      for (int offset = 0; offset < scale; offset++) {
        int centre = size / 2 + offset;
        float[] spiked = base.clone();
        for (int c = 0; c < channels; c++) {
          spiked[(c * size + centre) * size + centre] += SPIKE;
        }
        NDArray b = gA.image(from, end, m.create(spiked, shape), text, tokens, s -> {});
        int outSize = Math.toIntExact(b.getShape().get(2));
        float[] v = b.toFloatArray();
        for (int i = 0; i < u.length; i++) {
          if (u[i] != v[i]) {
            int pos = i % (outSize * outSize);
            radius = Math.max(radius, Math.max(reach(pos / outSize, scale, centre), reach(pos % outSize, scale, centre)));
          }
        }
      }
    }
    System.out.println("[AnalysisHaloTest] " + what + ": receptive-field radius " + radius + ", halo " + halo);
    assertTrue(radius >= 0, what + ": the spike changed nothing");
    assertTrue(radius < size / 2 - scale, what + ": the field reaches the map's edge; enlarge the map");
    assertTrue(radius <= halo, what + ": receptive-field radius " + radius + " exceeds the halo " + halo);
  }

  /** How far input {@code c} lies outside output {@code o}'s own input block [s·o, s·o + s − 1] (0 inside it). */
  private static int reach(int o, int s, int c) {
    return Math.max(0, Math.max(s * o - c, c - (s * o + s - 1)));
  }
}
