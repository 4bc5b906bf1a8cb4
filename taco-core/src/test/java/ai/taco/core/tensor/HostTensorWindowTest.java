package ai.taco.core.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.api.Test;

/**
 * {@link HostTensor#window}: the stored samples where the window overlaps the tensor, zeros past its bottom and right
 * edges (as a zero-padded copy reads), the leading dimensions kept; bad windows refused.
 */
class HostTensorWindowTest {
  private static final int C = 3;
  private static final int H = 5;
  private static final int W = 7;

  /** Sample value of plane c, row r, column col: distinct and non-zero everywhere inside the tensor. */
  private static int value(int c, int r, int col) {
    return 1 + c * 64 + r * 8 + col;
  }

  @Test
  void windowsReadStoredSamplesAndZerosPastTheEdges() {
    byte[] bytes = new byte[C * H * W];
    float[] floats = new float[C * H * W];
    for (int c = 0; c < C; c++) {
      for (int r = 0; r < H; r++) {
        for (int col = 0; col < W; col++) {
          bytes[(c * H + r) * W + col] = (byte) value(c, r, col);
          floats[(c * H + r) * W + col] = value(c, r, col) / 7f;
        }
      }
    }
    HostTensor u8 = HostTensor.ofBytes(bytes, 1, C, H, W);
    HostTensor f32 = HostTensor.ofFloats(floats, C, H, W);
    // inside; touching the right edge; crossing both edges; wholly past the bottom-right corner
    int[][] windows = {{1, 4, 2, 6}, {0, 5, 3, 7}, {3, 8, 5, 10}, {5, 8, 7, 9}, {0, 5, 0, 7}};
    for (int[] win : windows) {
      int rows = win[1] - win[0];
      int cols = win[3] - win[2];
      byte[] wantBytes = new byte[C * rows * cols];
      float[] wantFloats = new float[C * rows * cols];
      for (int c = 0; c < C; c++) {
        for (int r = 0; r < rows; r++) {
          for (int col = 0; col < cols; col++) {
            int sr = win[0] + r;
            int sc = win[2] + col;
            boolean inside = sr < H && sc < W;
            wantBytes[(c * rows + r) * cols + col] = inside ? (byte) value(c, sr, sc) : 0;
            wantFloats[(c * rows + r) * cols + col] = inside ? value(c, sr, sc) / 7f : 0f;
          }
        }
      }
      HostTensor a = u8.window(win[0], win[1], win[2], win[3]);
      HostTensor b = f32.window(win[0], win[1], win[2], win[3]);
      assertArrayEquals(new long[] {1, C, rows, cols}, a.shape());
      assertArrayEquals(new long[] {C, rows, cols}, b.shape());
      assertEquals(DataType.UINT8, a.dataType());
      assertArrayEquals(wantBytes, a.toByteArray(), java.util.Arrays.toString(win));
      assertArrayEquals(wantFloats, b.toFloatArray(), java.util.Arrays.toString(win));
    }
  }

  @Test
  void emptyOrNegativeWindowsAreRefused() {
    HostTensor t = HostTensor.ofBytes(new byte[C * H * W], C, H, W);
    assertThrows(IllegalArgumentException.class, () -> t.window(2, 2, 0, 3));
    assertThrows(IllegalArgumentException.class, () -> t.window(0, 3, 4, 1));
    assertThrows(IllegalArgumentException.class, () -> t.window(-1, 3, 0, 3));
    assertThrows(IllegalArgumentException.class, () -> HostTensor.ofBytes(new byte[4], 4).window(0, 1, 0, 1));
    assertThrows(IllegalArgumentException.class, () -> t.window(0, 1L << 20, 0, 1L << 20));
  }
}
