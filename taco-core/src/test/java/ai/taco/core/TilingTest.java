package ai.taco.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.taco.core.io.CompressAiFile;
import ai.taco.core.io.HostTensor;
import ai.taco.core.testing.Diff;
import ai.taco.core.testing.Golden;
import ai.taco.core.transform.TiledAnalysis;
import ai.taco.core.transform.TiledSynthesis;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Tiled gA / gS against the untiled transforms: the golden images with tiles far smaller than the image still give
 * the official bitstreams and the same pixels, and on sizes that do not divide into tiles the tiled transforms agree
 * with the untiled ones up to float summation order. Halos a quarter of the receptive field leave seam errors of 0.09
 * in y; the outermost receptive-field positions weigh too little to show (one position less still passes).
 */
class TilingTest {
  /** 32-pixel tiles with 16-pixel sub-tiles: every stage of both transforms splits even the 64×64 golden image. */
  private static final Tiling SMALL_TILES = new Tiling(32, 16);
  /** Float32 summation-order differences after 15-18 layers stay far below this (and far below one 8-bit level). */
  private static final double FLOAT_TOL = 1e-4;

  @Test
  void tiledEncodeGivesTheOfficialBitstreamsAndTiledDecodeTheSamePixels() throws Exception {
    Path weights = Golden.golden("taco-small/checkpoint.pth.tar");
    try (TacoCodec tiled = TacoCodec.builder().setWeights(weights).optTiling(SMALL_TILES).build();
        TacoCodec whole = TacoCodec.builder().setWeights(weights).optTiling(Tiling.NONE).build()) {
      for (String name : new String[] {"img0_64x64", "img1_128x192"}) {
        Map<String, HostTensor> g = Golden.tensors("taco-small/" + name + ".safetensors");
        byte[] official = Files.readAllBytes(Golden.golden("taco-small/" + name + ".bin"));
        byte[] coded = tiled.compress(g.get("x"), g.get("text_embeddings"), EncodeOptions.official()).toBytes();
        assertArrayEquals(official, coded, name);
        float[] t = tiled.decompress(CompressAiFile.parse(official), DecodeOptions.unclamped()).toFloatArray();
        float[] w = whole.decompress(CompressAiFile.parse(official), DecodeOptions.unclamped()).toFloatArray();
        assertWithinRounding(w, t, name);
      }
    }
  }

  /** A 200×333 image (padded to 256×384: 3×4 tiles of 96 pixels, the last ones partial) on a random small model. */
  @Test
  void tiledTransformsMatchUntiledOnSizesThatDoNotDivideIntoTiles() {
    Tiling tiling = new Tiling(96, 48);
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      TacoModel model = TacoModel.create(TacoConfig.SMALL, m, 7);
      Random r = new Random(3);
      float[] px = new float[3 * 256 * 384];
      for (int i = 0; i < px.length; i++) {
        px[i] = r.nextFloat();
      }
      float[] tx = new float[5 * 512];
      for (int i = 0; i < tx.length; i++) {
        tx[i] = (float) r.nextGaussian();
      }
      NDArray x = m.create(px, new ai.djl.ndarray.types.Shape(1, 3, 256, 384));
      NDArray text = m.create(tx, new ai.djl.ndarray.types.Shape(1, 5, 512));
      NDArray y = model.gA().forward(x, text);
      NDArray yTiled = TiledAnalysis.forward(model.gA(), tiling, x, text, step -> {});
      double yErr = Diff.maxAbs(y, yTiled);
      double yScale = y.abs().max().getFloat();
      System.out.println("[TilingTest] gA max|err| " + yErr + " max|y| " + yScale);
      assertTrue(yErr < FLOAT_TOL * Math.max(1, yScale), "gA tiled max|err| " + yErr + " (max|y| " + yScale + ")");

      NDArray yHat = y.round();
      NDArray xHat = model.gS().forward(yHat);
      NDArray xTiled = TiledSynthesis.forward(model.gS(), tiling, yHat, step -> {});
      assertArrayEquals(xHat.getShape().getShape(), xTiled.getShape().getShape());
      assertWithinRounding(xHat.toFloatArray(), xTiled.toFloatArray(), "gS 200x333");
    }
  }

  /** Float values agree to {@link #FLOAT_TOL}; as 8-bit pixels they differ by at most one level. */
  private static void assertWithinRounding(float[] expected, float[] actual, String what) {
    assertTrue(expected.length == actual.length, what + ": lengths");
    double worst = 0;
    int worstLevels = 0;
    for (int i = 0; i < expected.length; i++) {
      worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
      worstLevels = Math.max(worstLevels, Math.abs(level(expected[i]) - level(actual[i])));
    }
    System.out.println("[TilingTest] " + what + " max|err| " + worst + " levels " + worstLevels);
    assertTrue(worst < FLOAT_TOL, what + ": tiled vs untiled max|err| " + worst);
    assertTrue(worstLevels <= 1, what + ": 8-bit levels differ by " + worstLevels);
  }

  private static int level(float v) {
    return Math.round(Math.min(1f, Math.max(0f, v)) * 255f);
  }
}
