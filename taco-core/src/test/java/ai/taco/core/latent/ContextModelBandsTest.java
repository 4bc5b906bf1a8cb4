package ai.taco.core.latent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.nn.NamedParameters;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The coding path in bands of latent rows codes the same symbols into the same string as one whole-latent band, and
 * decodes either string back to the same ŷ, whether the host copies are made whole or channel by channel; the
 * reference-data parity tests cover the single-band, whole-copy case.
 */
class ContextModelBandsTest {
  private static final int M = 8;
  private static final List<Integer> SLICES = List.of(2, 2, 4);
  private static final int H = 20;
  private static final int W = 12;

  @Test
  void bandsCodeTheSameStringAsTheWholeLatent() {
    NamedParameters store = new NamedParameters();
    ContextModel model = new ContextModel(store, M, SLICES, GaussianConditional.DEFAULT_TABLE);
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      store.initialize(m, 7);
      store.freeze();
      Random rnd = new Random(3);
      float[] y = new float[M * H * W];
      float[] hyper = new float[2 * M * H * W];
      for (int i = 0; i < y.length; i++) {
        y[i] = (float) (rnd.nextGaussian() * 6);
      }
      for (int i = 0; i < hyper.length; i++) {
        hyper[i] = (float) rnd.nextGaussian();
      }
      NDArray yNd = m.create(y, new Shape(1, M, H, W));
      NDArray hyperNd = m.create(hyper, new Shape(1, 2 * M, H, W));

      ContextModel.Coded whole = model.compress(yNd, hyperNd, m, true);
      assertEquals(M * H * W, whole.symbols().count());
      NDArray yHatWhole = model.decompress(whole.yString(), hyperNd, H, W, m).yHat();
      // 2-row and 6-row bands (the last one shorter): halos cross band edges and the image edges.
      for (int rows : new int[] {2, 6}) {
        model.bandPositions(rows * W);
        ContextModel.Coded banded = model.compress(yNd, hyperNd, m, true);
        assertArrayEquals(whole.symbols().symbols(), banded.symbols().symbols(), rows + "-row bands: symbols");
        assertArrayEquals(whole.symbols().indexes(), banded.symbols().indexes(), rows + "-row bands: indexes");
        assertArrayEquals(whole.yString(), banded.yString(), rows + "-row bands: string");
        ContextModel.Decoded d = model.decompress(banded.yString(), hyperNd, H, W, m, true);
        assertArrayEquals(whole.symbols().symbols(), d.symbols().symbols(), rows + "-row bands: decoded symbols");
        assertArrayEquals(yHatWhole.toFloatArray(), d.yHat().toFloatArray(), rows + "-row bands: ŷ");
      }
      // The channel context computed again for the non-anchors (images whose context would not fit the cache).
      model.contextCacheBytes(0);
      for (int rows : new int[] {H, 6}) {
        model.bandPositions(rows * W);
        ContextModel.Coded again = model.compress(yNd, hyperNd, m, true);
        assertArrayEquals(whole.yString(), again.yString(), rows + "-row bands, context not kept: string");
        assertArrayEquals(yHatWhole.toFloatArray(), model.decompress(again.yString(), hyperNd, H, W, m).yHat()
            .toFloatArray(), rows + "-row bands, context not kept: ŷ");
      }
      model.contextCacheBytes(ContextModel.CONTEXT_CACHE_BYTES);
      model.bandPositions(ContextModel.BAND_POSITIONS);
      // Copies to the Java heap one channel at a time (large images) instead of whole: the same string and ŷ.
      model.wholeCopyBytes(0);
      for (int rows : new int[] {H, 6}) {
        model.bandPositions(rows * W);
        ContextModel.Coded perChannel = model.compress(yNd, hyperNd, m, true);
        assertArrayEquals(whole.symbols().indexes(), perChannel.symbols().indexes(), "per-channel copies: indexes");
        assertArrayEquals(whole.yString(), perChannel.yString(), "per-channel copies: string");
        assertArrayEquals(yHatWhole.toFloatArray(), model.decompress(perChannel.yString(), hyperNd, H, W, m).yHat()
            .toFloatArray(), "per-channel copies: ŷ");
      }
      model.wholeCopyBytes(ContextModel.WHOLE_COPY_BYTES);
      // ŷ reaches libtorch a few channels at a time (3 planes per copy here: chunks of 3, 3, 2): the host array's values.
      float[] hat = yHatWhole.toFloatArray();
      try (NDArray chunked = ContextModel.latents(m, hat, M, H, W, 3L * H * W * Float.BYTES)) {
        assertArrayEquals(new long[] {1, M, H, W}, chunked.getShape().getShape());
        assertArrayEquals(hat, chunked.toFloatArray(), "ŷ copied in chunks");
      }
      model.bandPositions(ContextModel.BAND_POSITIONS);
      // ŷ is y rounded around the means: within half a step of y (ties aside).
      float[] yHat = yHatWhole.toFloatArray();
      for (int i = 0; i < y.length; i++) {
        assertTrue(Math.abs(yHat[i] - y[i]) <= 0.5f + 1e-4f, "ŷ " + yHat[i] + " vs y " + y[i]);
      }
    }
  }
}
