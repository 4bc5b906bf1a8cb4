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
 * Each of gS's tile halos ({@link TiledSynthesis}) is at least the receptive-field radius of its stage, measured on the
 * layers themselves rather than derived by hand: one input position of the stage gets a huge spike, and every output
 * whose value changes at all lies within the halo of it. Outside the receptive field an output is computed from the
 * same inputs by the same kernels, so it is bit-identical; inside, the spike (1e10) lifts even the outermost ring's
 * influence far above float32 rounding. Comparing tiled and untiled values (TilingTest) cannot see a halo a position
 * or two short: random weights make that ring's weight fall below rounding.
 *
 * <p>A small random model: the radii depend on kernel sizes and strides, which every preset shares.
 */
class SynthesisHaloTest {
  private static final float SPIKE = 1e10f;

  /** The small preset's widths (N, M). */
  private static final int N = 32;

  private static final int M = 64;

  @Test
  void lowStageHaloCoversItsReceptiveField() {
    // Steps 0-5: ŷ at 1/16 → a map at 1/4; radius in 1/16 positions of what an output at 1/4 (position q / 4) reads.
    assertHaloCovers(0, TiledSynthesis.MID_FROM, M, 4, TiledSynthesis.LOW_HALO, "low stage (steps 0-5)");
  }

  @Test
  void middleStageHaloCoversItsReceptiveField() {
    assertHaloCovers(TiledSynthesis.MID_FROM, TiledSynthesis.HIGH_FROM, N, 1, TiledSynthesis.MID_HALO,
        "middle stage (steps 6-9)");
  }

  @Test
  void highStageHaloCoversItsReceptiveField() {
    // Steps 10-14: a map at 1/4 → x̂; an output pixel q belongs to the 1/4 position q / 4.
    assertHaloCovers(TiledSynthesis.HIGH_FROM, -1, N, 4, TiledSynthesis.HIGH_HALO, "high stage (steps 10-14)");
  }

  /**
   * Runs steps [from, to) (to = -1: to the end) on a random map of {@code channels} channels with and without a spike
   * at its centre, and asserts that every output that changes lies within {@code halo} input positions of the spike
   * ({@code upscale} output positions per input position).
   */
  private static void assertHaloCovers(int from, int to, int channels, int upscale, int halo, String what) {
    int size = 2 * (halo + 8) + 1; // room on every side beyond the halo, so that a larger field would show
    int centre = size / 2;
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NamedParameters p = new NamedParameters();
      SynthesisTransform gS = new SynthesisTransform(p, N, M);
      p.initialize(m, 7);
      int end = to < 0 ? gS.steps() : to;
      float[] base = new float[channels * size * size];
      Random r = new Random(11);
      for (int i = 0; i < base.length; i++) {
        base[i] = (float) r.nextGaussian();
      }
      float[] spiked = base.clone();
      for (int c = 0; c < channels; c++) {
        spiked[(c * size + centre) * size + centre] += SPIKE;
      }
      Shape shape = new Shape(1, channels, size, size);
      NDArray a = gS.steps(from, end, m.create(base, shape), s -> {});
      NDArray b = gS.steps(from, end, m.create(spiked, shape), s -> {});
      long outChannels = a.getShape().get(1);
      int outSize = Math.toIntExact(a.getShape().get(2));
      float[] u = a.toFloatArray();
      float[] v = b.toFloatArray();
      int radius = -1;
      for (int i = 0; i < u.length; i++) {
        if (u[i] != v[i]) {
          int pos = Math.toIntExact(i % ((long) outSize * outSize));
          int dy = Math.abs(pos / outSize / upscale - centre);
          int dx = Math.abs(pos % outSize / upscale - centre);
          radius = Math.max(radius, Math.max(dy, dx));
        }
      }
      System.out.println("[SynthesisHaloTest] " + what + ": receptive-field radius " + radius + ", halo " + halo
          + " (" + outChannels + " output channels)");
      assertTrue(radius >= 0, what + ": the spike changed nothing");
      assertTrue(radius < size / 2, what + ": the field reaches the map's edge; enlarge the map");
      assertTrue(radius <= halo, what + ": receptive-field radius " + radius + " exceeds the halo " + halo);
    }
  }
}
