package ai.taco.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.taco.core.bitstream.CompressAiFile;
import ai.taco.core.image.Images;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.core.transform.TiledAnalysis;
import ai.taco.core.weights.StateDict;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The tiled encoder reads gA's input crop by crop from the host image ({@link TacoCodec#paddedCrops}) instead of from
 * a whole float32 copy padded by {@link Images#pad}: every crop, the latent y and the coded strings must be exactly
 * those of the whole padded copy, for 8-bit and float images, [1,3,H,W] and [3,H,W], on sizes whose padding fills
 * whole tiles.
 */
class TiledEncodeInputTest {
  /** Tiles of 32 pixels, sub-tiles of 16: every stage of gA splits even a 128×192 image. */
  private static final Tiling SMALL_TILES = new Tiling(32, 16);

  /** The reference image cut to {@code h × w} (so it needs padding), as UINT8 [1,3,h,w] or float32 [3,h,w]. */
  private static HostTensor input(int h, int w, boolean compact) throws Exception {
    float[] src = Golden.tensors("taco-small/img1_128x192.safetensors").get("x").toFloatArray();
    float[] f = new float[3 * h * w];
    byte[] b = new byte[3 * h * w];
    for (int c = 0; c < 3; c++) {
      for (int r = 0; r < h; r++) {
        for (int col = 0; col < w; col++) {
          float v = src[(c * 128 + r) * 192 + col];
          f[(c * h + r) * w + col] = v;
          b[(c * h + r) * w + col] = (byte) Math.round(Math.max(0, Math.min(1, v)) * 255);
        }
      }
    }
    return compact ? HostTensor.ofBytes(b, 1, 3, h, w) : HostTensor.ofFloats(f, 3, h, w);
  }

  private static List<HostTensor> inputs() throws Exception {
    // 100×150 and 70×130 pad to 128×192; 70 rows leave the last 58 rows (whole 32-pixel tiles) zero.
    List<HostTensor> out = new ArrayList<>();
    for (int[] size : new int[][] {{100, 150}, {70, 130}, {128, 192}}) {
      out.add(input(size[0], size[1], true));
      out.add(input(size[0], size[1], false));
    }
    return out;
  }

  /** Today's whole-image input: converted by toFloatImage, then padded by Images.pad. */
  private static NDArray wholePadded(HostTensor image, NDManager m) {
    long[] s = image.shape();
    return Images.pad(TacoCodec.toFloatImage(image, m).reshape(1, 3, s[s.length - 2], s[s.length - 1]),
        TacoCodec.PAD_MULTIPLE);
  }

  @Test
  void everyCropHoldsTheValuesOfTheWholePaddedImage() throws Exception {
    int[][] windows = {{0, 128, 0, 192}, {8, 40, 24, 72}, {60, 128, 120, 192}, {100, 128, 150, 192}, {96, 128, 160,
        192}, {0, 16, 176, 192}};
    for (HostTensor image : inputs()) {
      try (NDManager m = NDManager.newBaseManager();
          NDScope scope = new NDScope()) {
        NDArray whole = wholePadded(image, m);
        assertArrayEquals(new long[] {1, 3, 128, 192}, whole.getShape().getShape());
        TiledAnalysis.Input crops = TacoCodec.paddedCrops(image, 128, 192, m);
        assertEquals(128, crops.height());
        assertEquals(192, crops.width());
        for (int[] w : windows) {
          float[] want = whole.get(new NDIndex(":, :, {}:{}, {}:{}", w[0], w[1], w[2], w[3])).toFloatArray();
          NDArray got = crops.crop(w[0], w[1], w[2], w[3]);
          assertArrayEquals(new long[] {1, 3, w[1] - w[0], w[3] - w[2]}, got.getShape().getShape());
          assertArrayEquals(want, got.toFloatArray(), image + " " + java.util.Arrays.toString(w));
        }
      }
    }
  }

  @Test
  void tiledGaGivesTheSameLatentFromCropsAsFromTheWholePaddedImage() throws Exception {
    Map<String, HostTensor> weights = StateDict.load(Golden.tacoSmallWeights());
    HostTensor text = Golden.tensors("taco-small/img1_128x192.safetensors").get("text_embeddings");
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      TacoModel model = TacoModel.load(weights, TacoConfig.SMALL, m);
      NDArray t = text.toNDArray(m);
      for (Tiling tiling : new Tiling[] {SMALL_TILES, new Tiling(64, 32)}) {
        for (HostTensor image : inputs()) {
          float[] want = TiledAnalysis.forward(model.gA(), tiling.tile(), tiling.subTile(), wholePadded(image, m), t,
              step -> {}).toFloatArray();
          float[] got = TiledAnalysis.forward(model.gA(), tiling.tile(), tiling.subTile(),
              TacoCodec.paddedCrops(image, 128, 192, m), t, step -> {}).toFloatArray();
          assertArrayEquals(want, got, image + " " + tiling);
        }
      }
    }
  }

  @Test
  void theTiledCodecCodesTheStringsOfTheWholePaddedImage() throws Exception {
    HostTensor text = Golden.tensors("taco-small/img1_128x192.safetensors").get("text_embeddings");
    try (TacoCodec codec = TacoCodec.builder().setWeights(Golden.tacoSmallWeights()).optTiling(SMALL_TILES).build();
        NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      TacoModel model = TacoModel.load(StateDict.load(Golden.tacoSmallWeights()), TacoConfig.SMALL, m);
      model.update();
      for (HostTensor image : inputs()) {
        CompressAiFile file = CompressAiFile.parse(codec.compress(image, text, EncodeOptions.official()).toBytes());
        TacoModel.Strings want =
            model.compress(wholePadded(image, m), text.toNDArray(m), StageListener.NONE, SMALL_TILES).strings();
        assertArrayEquals(want.zString(), file.zString(), image + " z");
        assertArrayEquals(want.yString(), file.yString(), image + " y");
      }
    }
  }
}
