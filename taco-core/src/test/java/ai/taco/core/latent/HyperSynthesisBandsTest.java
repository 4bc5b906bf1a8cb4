package ai.taco.core.latent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.nn.NamedParameters;
import ai.taco.core.transform.HyperSynthesis;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * hS in bands of ẑ rows gives the whole-map values bit for bit, stored so that the context model codes the same y
 * string from them. Encoder and decoder (and the official decoder) must derive identical entropy parameters, so
 * anything short of bit-exact would be a bug. Full-size channels (N = 192, M = 320): the convolution kernels libtorch
 * picks depend on them.
 */
class HyperSynthesisBandsTest {
  private static final int N = 192;
  private static final int M = 320;
  private static final List<Integer> SLICES = List.of(16, 16, 32, 64, 192);
  /** Odd height, so the last band is short and bands of one row exist. */
  private static final int ZH = 11;
  private static final int ZW = 7;

  @Test
  void bandsGiveTheWholeMapsValuesAndTheSameString() {
    NamedParameters store = new NamedParameters();
    Hyperprior hyperprior = new Hyperprior(store, N, M);
    ContextModel context = new ContextModel(store, M, SLICES, GaussianConditional.DEFAULT_TABLE);
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      store.initialize(m, 11);
      store.freeze();
      Random rnd = new Random(5);
      float[] z = new float[N * ZH * ZW];
      for (int i = 0; i < z.length; i++) {
        z[i] = rnd.nextInt(17) - 8; // ẑ is integers (plus medians near zero)
      }
      NDArray zHat = m.create(z, new Shape(1, N, ZH, ZW));
      float[] y = new float[M * 4 * ZH * 4 * ZW];
      for (int i = 0; i < y.length; i++) {
        y[i] = (float) (rnd.nextGaussian() * 4);
      }
      NDArray yNd = m.create(y, new Shape(1, M, 4 * ZH, 4 * ZW));

      HyperSynthesis hS = hyperprior.hS();
      NDArray whole = hS.forward(zHat, null);
      float[] expected = whole.toFloatArray();
      byte[] expectedString = context.compress(yNd, whole, m).yString();
      for (int rows : new int[] {1, 2, 3, 4, 10}) {
        NDArray banded = hS.forward(zHat, rows);
        assertArrayEquals(whole.getShape().getShape(), banded.getShape().getShape(), rows + "-row bands: shape");
        assertArrayEquals(expected, banded.toFloatArray(), rows + "-row bands: values");
        assertArrayEquals(expectedString, context.compress(yNd, banded, m).yString(), rows + "-row bands: y string");
      }
    }
  }
}
