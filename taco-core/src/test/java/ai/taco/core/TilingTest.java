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

  /**
   * The encoder frees image copies before gA runs. A garbage collection with fresh direct buffers written over freed
   * memory, between those frees and gA, must not change the bitstream: an array over a host buffer freed while a view
   * of it was still read gave a 292-byte file instead of the official one (docs/djl-traps.md). Both golden images:
   * 64×64 is padded to a multiple of 64 by nothing, 128×192 neither; a third, cropped to 100×150, is padded.
   */
  @Test
  void encodingSurvivesGarbageCollectionBetweenItsStages() throws Exception {
    Path weights = Golden.golden("taco-small/checkpoint.pth.tar");
    StageListener churn = stage -> {
      if (stage.equals("gA") || stage.equals("hyper")) {
        System.gc();
        for (int i = 0; i < 8; i++) {
          java.nio.ByteBuffer b = java.nio.ByteBuffer.allocateDirect(1 << 20);
          while (b.hasRemaining()) {
            b.put((byte) 0x7f);
          }
        }
      }
    };
    try (TacoCodec tiled = TacoCodec.builder().setWeights(weights).optTiling(SMALL_TILES).build();
        TacoCodec whole = TacoCodec.builder().setWeights(weights).optTiling(Tiling.NONE).build()) {
      for (String name : new String[] {"img0_64x64", "img1_128x192"}) {
        Map<String, HostTensor> g = Golden.tensors("taco-small/" + name + ".safetensors");
        byte[] official = Files.readAllBytes(Golden.golden("taco-small/" + name + ".bin"));
        for (TacoCodec codec : new TacoCodec[] {tiled, whole}) {
          for (int run = 0; run < 3; run++) {
            byte[] coded = codec.compress(g.get("x"), g.get("text_embeddings"),
                EncodeOptions.official().withListener(churn)).toBytes();
            assertArrayEquals(official, coded, name + " run " + run);
          }
        }
      }
      // Padded: the same file with and without the collections.
      HostTensor x = Golden.tensors("taco-small/img1_128x192.safetensors").get("x");
      HostTensor text = Golden.tensors("taco-small/img1_128x192.safetensors").get("text_embeddings");
      float[] px = x.toFloatArray();
      float[] cropped = new float[3 * 100 * 150];
      for (int c = 0; c < 3; c++) {
        for (int r = 0; r < 100; r++) {
          System.arraycopy(px, (c * 128 + r) * 192, cropped, (c * 100 + r) * 150, 150);
        }
      }
      HostTensor small = HostTensor.ofFloats(cropped, 1, 3, 100, 150);
      byte[] quiet = tiled.compress(small, text, EncodeOptions.official()).toBytes();
      for (int run = 0; run < 3; run++) {
        assertArrayEquals(quiet, tiled.compress(small, text, EncodeOptions.official().withListener(churn)).toBytes());
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

  /**
   * A 2K image (1920×1080, padded to 1920×1088) with the default tiling, which splits both transforms of it (2×2 tiles,
   * sub-tiles of 512): coded with the golden model, its file decodes to the same pixels tiled and untiled, and the
   * tiled encoder writes the untiled encoder's file (the golden images prove the coding path byte for byte against
   * the official code; here the tiles are the library's own).
   */
  @Test
  void aTwoKImageCodesAndDecodesTheSameWithTheDefaultTiles() throws Exception {
    Path weights = Golden.golden("taco-small/checkpoint.pth.tar");
    Map<String, HostTensor> g = Golden.tensors("taco-small/img1_128x192.safetensors");
    float[] src = g.get("x").toFloatArray();
    int h = 1080;
    int w = 1920;
    float[] px = new float[3 * h * w];
    for (int c = 0; c < 3; c++) {
      for (int r = 0; r < h; r++) {
        for (int col = 0; col < w; col++) {
          // The golden image mirrored across the frame: real image statistics at every position.
          int rr = mirror(r, 128);
          int cc = mirror(col, 192);
          px[(c * h + r) * w + col] = src[(c * 128 + rr) * 192 + cc];
        }
      }
    }
    HostTensor image = HostTensor.ofFloats(px, 1, 3, h, w);
    try (TacoCodec tiled = TacoCodec.builder().setWeights(weights).build();
        TacoCodec whole = TacoCodec.builder().setWeights(weights).optTiling(Tiling.NONE).build()) {
      assertTrue(!tiled.tiling().covers(1088, 1920), "the default tiles split a 2K image");
      byte[] file = whole.compress(image, g.get("text_embeddings"), EncodeOptions.official()).toBytes();
      assertArrayEquals(file, tiled.compress(image, g.get("text_embeddings"), EncodeOptions.official()).toBytes());
      float[] t = tiled.decompress(CompressAiFile.parse(file), DecodeOptions.unclamped()).toFloatArray();
      float[] u = whole.decompress(CompressAiFile.parse(file), DecodeOptions.unclamped()).toFloatArray();
      assertWithinRounding(u, t, "2K default tiles");
    }
  }

  private static int mirror(int i, int n) {
    int p = i % (2 * n);
    return p < n ? p : 2 * n - 1 - p;
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
