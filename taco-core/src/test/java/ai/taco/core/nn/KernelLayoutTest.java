package ai.taco.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/**
 * Kernels kept in the layout of the maps they read (a frozen store): the same sums as libtorch's own per-call
 * conversion, bit for bit, and the layout test follows libtorch's rule, ambiguous shapes included.
 */
class KernelLayoutTest {
  @Test
  void channelsLastFollowsLibtorchsRule() {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NDArray nchw = m.randomNormal(new Shape(1, 8, 4, 5));
      NDArray nhwc = ChannelsLast.of(nchw);
      assertTrue(OneDnn.channelsLast(nhwc), "channels-last map");
      assertFalse(OneDnn.channelsLast(nchw), "contiguous map");
      assertTrue(OneDnn.channelsLast(nhwc.get(":, :, 1:3, 2:5")), "a crop of a channels-last map");
      assertFalse(OneDnn.channelsLast(m.randomNormal(new Shape(1, 8, 1, 1))), "contiguous N×C×1×1: ambiguous, NCHW");
      assertTrue(OneDnn.channelsLast(ChannelsLast.of(m.randomNormal(new Shape(2, 8, 1, 1)))), "stored NHWC, N > 1");
      assertFalse(OneDnn.channelsLast(m.randomNormal(new Shape(1, 1, 4, 5))), "one channel");
    }
  }

  @Test
  void keptKernelsGiveTheSameSumsAsLibtorchsConversion() {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NamedParameters frozen = new NamedParameters();
      NamedParameters plain = new NamedParameters();
      Conv c = new Conv(frozen, "c", 16, 24, 3, 1);
      Conv cPlain = new Conv(plain, "c", 16, 24, 3, 1);
      TransposedConv up = TransposedConv.up(frozen, "u", 16, 24);
      TransposedConv upPlain = TransposedConv.up(plain, "u", 16, 24);
      TransposedConv last = new TransposedConv(frozen, "l", 16, 24, 3, 1);
      TransposedConv lastPlain = new TransposedConv(plain, "l", 16, 24, 3, 1);
      frozen.initialize(m, 31);
      plain.initialize(m, 31);
      frozen.freeze();
      NDArray x = m.randomNormal(new Shape(1, 16, 7, 9));
      for (NDArray in : new NDArray[] {ChannelsLast.of(x), x}) {
        String layout = OneDnn.channelsLast(in) ? "channels-last" : "contiguous";
        // Twice: the first call keeps the kernel, the second reads the kept one.
        for (int call = 0; call < 2; call++) {
          assertArrayEquals(cPlain.forward(in).toFloatArray(), c.forward(in).toFloatArray(), "conv, " + layout);
          assertArrayEquals(upPlain.forward(in).toFloatArray(), up.forward(in).toFloatArray(), "deconv, " + layout);
          assertArrayEquals(lastPlain.forward(in).toFloatArray(), last.forward(in).toFloatArray(), "3x3/1, " + layout);
        }
      }
    }
  }
}
