package ai.taco.core.latent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/** The checkerboard halves against the definition of utils/ckbd.py: anchors are the positions with (row + col) odd. */
class CheckerboardTest {
  @Test
  void squeezeKeepsEachHalfInCodingOrder() {
    int c = 3;
    int h = 4;
    int w = 6;
    float[] x = new float[c * h * w];
    for (int i = 0; i < x.length; i++) {
      x[i] = i;
    }
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray nd = m.create(x, new Shape(1, c, h, w));
      for (boolean anchor : new boolean[] {true, false}) {
        NDArray s = ContextModel.Checkerboard.squeeze(nd, anchor);
        assertEquals(new Shape(1, c, h, w / 2), s.getShape());
        // Expected: every position of the half, channel by channel, row by row, left to right.
        float[] expected = new float[c * h * w / 2];
        int k = 0;
        for (int ch = 0; ch < c; ch++) {
          for (int r = 0; r < h; r++) {
            for (int col = 0; col < w; col++) {
              if ((((r + col) & 1) == 1) == anchor) {
                expected[k++] = x[(ch * h + r) * w + col];
              }
            }
          }
        }
        assertArrayEquals(expected, s.toFloatArray(), anchor ? "anchors" : "non-anchors");
        // The masks of the training path select the same halves.
        NDArray masked = anchor ? ContextModel.Checkerboard.anchor(nd) : ContextModel.Checkerboard.nonAnchor(nd);
        assertEquals(
            s.sum().getFloat(), masked.sum().getFloat(), 0f, "mask and squeeze agree on which positions are kept");
      }
    }
  }

  /** squeezeConcat is squeeze of the channel concatenation, value for value (the coder's inputs must not change). */
  @Test
  void squeezeConcatEqualsSqueezeOfTheConcatenation() {
    int h = 6;
    int w = 8;
    try (NDManager m = NDManager.newBaseManager()) {
      ai.djl.ndarray.NDList parts = new ai.djl.ndarray.NDList();
      int base = 0;
      for (int c : new int[] {2, 5, 3}) {
        float[] v = new float[c * h * w];
        for (int i = 0; i < v.length; i++) {
          v[i] = base + i;
        }
        base += v.length;
        // One part stored channels-last, as the networks' outputs are: the layout must not matter.
        NDArray part = m.create(v, new Shape(1, c, h, w));
        parts.add(c == 5 ? ai.taco.core.nn.ChannelsLast.of(part) : part);
      }
      NDArray concat = ai.djl.ndarray.NDArrays.concat(parts, 1);
      for (boolean anchor : new boolean[] {true, false}) {
        NDArray expected = ContextModel.Checkerboard.squeeze(concat, anchor);
        NDArray got = ContextModel.Checkerboard.squeezeConcat(parts, anchor);
        assertEquals(expected.getShape(), got.getShape());
        assertArrayEquals(expected.toFloatArray(), got.toFloatArray(), anchor ? "anchors" : "non-anchors");
        // A part handed over already squeezed (the cached channel context) lands in the same place.
        ai.djl.ndarray.NDList mixed = new ai.djl.ndarray.NDList(parts.get(0),
            ContextModel.Checkerboard.squeeze(parts.get(1), anchor), parts.get(2));
        NDArray gotMixed = ContextModel.Checkerboard.squeezeConcat(mixed, new boolean[] {false, true, false}, anchor);
        assertArrayEquals(expected.toFloatArray(), gotMixed.toFloatArray(), "pre-squeezed middle part, " + anchor);
      }
    }
  }
}
