package ai.taco.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.taco.core.bitstream.CompressAiFile;
import ai.taco.core.image.Images;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Diff;
import ai.taco.core.testing.Golden;
import ai.taco.core.transform.TiledAnalysis;
import ai.taco.core.transform.TiledSynthesis;
import ai.taco.core.weights.SafeTensors;
import ai.taco.core.weights.StateDict;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Tiled gA / gS against the untiled transforms: the golden images with tiles far smaller than the image still give
 * the official bitstreams and the same pixels, and on sizes that do not divide into tiles the tiled transforms agree
 * with the untiled ones up to float summation order. Halos a quarter of the receptive field leave seam errors of 0.09
 * in y; the outermost receptive-field positions weigh too little to show (one position less still passes here), so
 * transform.AnalysisHaloTest and transform.SynthesisHaloTest measure each stage's receptive field against its halo.
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

  /** gA and gS take their own tile edges; the sub-tile must fit both, every edge on the 16-pixel grid. */
  @Test
  void eachTileEdgeIsChecked() {
    assertEquals(new Tiling(96, 48, 96), new Tiling(96, 48));
    assertEquals(64, new Tiling(96, 48, 64).synthesisTile());
    assertThrows(IllegalArgumentException.class, () -> new Tiling(96, 48, 32), "sub-tile larger than gS's tile");
    assertThrows(IllegalArgumentException.class, () -> new Tiling(96, 48, 72), "gS tile off the 16-pixel grid");
    assertThrows(IllegalArgumentException.class, () -> new Tiling(96, 48, 0), "empty gS tile");
  }

  /**
   * Under bfloat16 the tiled gA hands its tiles over in bfloat16 and its float32 maps convert them as they are copied
   * in: on the 256×384 image of the next test (every stage tiled) the tiled y agrees with the untiled bf16 y within
   * bfloat16 rounding (both differ from the float32 y by far more than that bound allows between themselves).
   */
  @Test
  void tiledAnalysisUnderBf16MatchesUntiledBf16() {
    Tiling tiling = new Tiling(96, 48);
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      TacoModel model = TacoModel.create(TacoConfig.SMALL, m, 7);
      NDArray[] in = randomImageAndText(m, 4);
      NDArray x = in[0];
      NDArray text = in[1];
      NDArray y32 = model.gA().forward(x, text);
      NDArray[] bf16 = bf16WholeAndTiled(model, tiling, x, text);
      NDArray y = bf16[0];
      NDArray yTiled = bf16[1];
      assertEquals(ai.djl.ndarray.types.DataType.FLOAT32, yTiled.getDataType());
      double scale = y32.abs().max().getFloat();
      double tiledErr = Diff.maxAbs(y, yTiled);
      double bf16Err = Diff.maxAbs(y32, y);
      System.out.println("[TilingTest] bf16 gA tiled max|err| " + tiledErr + ", bf16 vs fp32 " + bf16Err + ", max|y| "
          + scale);
      assertTrue(bf16Err > 1e-3 * scale, "bfloat16 ran: " + bf16Err);
      assertTrue(tiledErr <= bf16Err, "tiled bf16 max|err| " + tiledErr + " (bf16 vs fp32 " + bf16Err + ")");
    }
  }

  /**
   * The same with the model frozen, as in a codec: bf16 then takes the fused convolutions (OneDnn), residual sums
   * written into the maps the transforms own, through whole and tiled gA (tiles, Injector bands, attention trunks that
   * share their input). Their kernels may sum in another order for another map width, so tiled and untiled y differ by
   * roundings, of the size bf16 and fp32 differ by (measured: 0.031 against 0.026, max|y| 2.9); a sum written into a
   * map that is read again fails the call or moves y by the size of its values.
   */
  @Test
  void tiledFusedAnalysisUnderBf16MatchesUntiledFused() {
    Tiling tiling = new Tiling(96, 48);
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      TacoModel model = TacoModel.create(TacoConfig.SMALL, m, 7);
      model.freeze();
      NDArray[] in = randomImageAndText(m, 4);
      NDArray x = in[0];
      NDArray text = in[1];
      float[] image = x.toFloatArray();
      NDArray y32 = model.gA().forward(x, text);
      NDArray[] bf16 = bf16WholeAndTiled(model, tiling, x, text);
      NDArray y = bf16[0];
      NDArray yTiled = bf16[1];
      double scale = y32.abs().max().getFloat();
      double tiledErr = Diff.maxAbs(y, yTiled);
      double bf16Err = Diff.maxAbs(y32, y);
      System.out.println("[TilingTest] fused bf16 gA tiled max|err| " + tiledErr + ", bf16 vs fp32 " + bf16Err
          + ", max|y| " + scale);
      assertTrue(bf16Err > 1e-3 * scale, "bfloat16 ran: " + bf16Err);
      assertTrue(tiledErr <= 2 * bf16Err, "tiled fused bf16 max|err| " + tiledErr + " (bf16 vs fp32 " + bf16Err + ")");
      assertArrayEquals(image, x.toFloatArray(), "the caller's image is untouched");
    }
  }

  /** gA's y under bfloat16, whole and over {@code tiling}'s tiles. */
  private static NDArray[] bf16WholeAndTiled(TacoModel model, Tiling tiling, NDArray x, NDArray text) {
    try (ai.taco.core.nn.ReducedPrecision.Scope s =
        ai.taco.core.nn.ReducedPrecision.request(ai.taco.core.tensor.Precision.BF16)) {
      return new NDArray[] {
        ai.taco.core.nn.ReducedPrecision.transform(() -> model.gA().forward(x, text)),
        ai.taco.core.nn.ReducedPrecision.transform(
            () -> TiledAnalysis.forward(model.gA(), tiling.tile(), tiling.subTile(), x, text, step -> {}))
      };
    }
  }

  /** A random 256×384 image in [0, 1) and 5 caption tokens of 512 Gaussian features, from {@code seed}. */
  private static NDArray[] randomImageAndText(NDManager m, long seed) {
    Random r = new Random(seed);
    float[] px = new float[3 * 256 * 384];
    for (int i = 0; i < px.length; i++) {
      px[i] = r.nextFloat();
    }
    float[] tx = new float[5 * 512];
    for (int i = 0; i < tx.length; i++) {
      tx[i] = (float) r.nextGaussian();
    }
    return new NDArray[] {
      m.create(px, new ai.djl.ndarray.types.Shape(1, 3, 256, 384)), m.create(tx, new ai.djl.ndarray.types.Shape(1, 5, 512))
    };
  }

  /** A 200×333 image (padded to 256×384: 3×4 tiles of 96 pixels, the last ones partial) on a random small model. */
  @Test
  void tiledTransformsMatchUntiledOnSizesThatDoNotDivideIntoTiles() {
    Tiling tiling = new Tiling(96, 48);
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      TacoModel model = TacoModel.create(TacoConfig.SMALL, m, 7);
      NDArray[] in = randomImageAndText(m, 3);
      NDArray x = in[0];
      NDArray text = in[1];
      NDArray y = model.gA().forward(x, text);
      NDArray yTiled = TiledAnalysis.forward(model.gA(), tiling.tile(), tiling.subTile(), x, text, step -> {});
      double yErr = Diff.maxAbs(y, yTiled);
      double yScale = y.abs().max().getFloat();
      System.out.println("[TilingTest] gA max|err| " + yErr + " max|y| " + yScale);
      assertTrue(yErr < FLOAT_TOL * Math.max(1, yScale), "gA tiled max|err| " + yErr + " (max|y| " + yScale + ")");

      NDArray yHat = y.round();
      NDArray xHat = model.gS().forward(yHat);
      NDArray xTiled = TiledSynthesis.forward(model.gS(), tiling.tile(), tiling.subTile(), yHat, step -> {});
      assertArrayEquals(xHat.getShape().getShape(), xTiled.getShape().getShape());
      assertWithinRounding(xHat.toFloatArray(), xTiled.toFloatArray(), "gS 200x333");
    }
  }

  /**
   * A 2K image (1920×1080, padded to 1920×1088) with the default tiling, which splits both transforms of it (gA in
   * tiles of 1536 pixels, gS of 1024, sub-tiles of 512): coded with the golden model, its file decodes to the same pixels tiled and untiled, and the
   * tiled encoder writes the untiled encoder's file (the official code's own 2K file is checked by the tests below).
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

  /** The official 2K reference files (reference folder taco-small, README-2k-legacy.md). */
  private static final String TWO_K = "taco-small/kodak2k_1080x1920";
  private static final int TWO_K_H = 1080;
  private static final int TWO_K_W = 1920;
  /**
   * A y symbol may differ from the official one only where the official y − μ lay closer than this to a rounding
   * boundary: the forward-tensor parity tolerance of TacoModelParityTest (1e-4), the most y or μ may move between
   * libtorch 2.7 and torch 1.13 summation orders. The reference lists every such official symbol (y.index).
   */
  private static final double Y_TIE_BAND = 1e-4;

  /**
   * The official code's 2K file (1920×1080, padded to 1920×1088, z 17×30, 522,240 y symbols), coded by TACO-J with the
   * default tiles and untiled: the same header and z string, and the same y symbols except where the official y − μ
   * was a rounding tie within {@link #Y_TIE_BAND} (the official file has one at 6e-8, so byte identity is not a
   * property of any float implementation but the official one). Where everything agrees the files must be identical.
   */
  @Test
  void aTwoKImageCodesAsTheOfficialCodeDoesTiledAndUntiled() throws Exception {
    Path weights = Golden.golden("taco-small/checkpoint.pth.tar");
    HostTensor image = twoKInput();
    HostTensor text = Golden.tensors("taco-small/img1_128x192.safetensors").get("text_embeddings");
    byte[] officialBytes = Files.readAllBytes(Golden.golden(TWO_K + ".bin"));
    CompressAiFile official = CompressAiFile.parse(officialBytes);
    Map<String, HostTensor> ties = Golden.tensors(TWO_K + ".ties.safetensors");
    int[] nearIndex = ties.get("y.index").toIntArray();
    float[] nearDistance = ties.get("y.distance").toFloatArray();
    Map<Integer, Float> nearTie = new HashMap<>();
    for (int i = 0; i < nearIndex.length; i++) {
      nearTie.put(nearIndex[i], nearDistance[i]);
    }
    try (TacoCodec tiled = TacoCodec.builder().setWeights(weights).build();
        TacoCodec whole = TacoCodec.builder().setWeights(weights).optTiling(Tiling.NONE).build();
        NDManager m = NDManager.newBaseManager()) {
      assertTrue(!tiled.tiling().covers(1088, 1920), "the default tiles split a 2K image");
      TacoModel model = TacoModel.load(StateDict.load(weights), TacoConfig.SMALL, m);
      model.update();
      int[] officialSymbols = ySymbols(model, official, m);
      assertEquals(522_240, officialSymbols.length);
      for (TacoCodec codec : new TacoCodec[] {tiled, whole}) {
        String what = codec == tiled ? "2K default tiles" : "2K untiled";
        byte[] bytes = codec.compress(image, text, EncodeOptions.official()).toBytes();
        CompressAiFile ours = CompressAiFile.parse(bytes);
        assertEquals(List.of(TWO_K_H, TWO_K_W, official.zHeight(), official.zWidth()),
            List.of(ours.height(), ours.width(), ours.zHeight(), ours.zWidth()), what + ": header");
        assertArrayEquals(official.zString(), ours.zString(), what + ": z string");
        int[] symbols = ySymbols(model, ours, m);
        assertEquals(officialSymbols.length, symbols.length, what + ": y symbols");
        int flipped = 0;
        double widest = 0;
        for (int i = 0; i < symbols.length; i++) {
          if (symbols[i] == officialSymbols[i]) {
            continue;
          }
          Float distance = nearTie.get(i);
          assertTrue(Math.abs(symbols[i] - officialSymbols[i]) == 1 && distance != null && distance < Y_TIE_BAND,
              what + ": y symbol " + i + " is " + symbols[i] + ", the official " + officialSymbols[i]
                  + (distance == null ? " (official y - mu not within " + Y_TIE_BAND + " of a tie)"
                      : " (official y - mu " + distance + " from a tie)"));
          flipped++;
          widest = Math.max(widest, distance);
        }
        if (flipped == 0) {
          assertArrayEquals(officialBytes, bytes, what + ": same symbols, so the same file");
        }
        System.out.println("[TilingTest] " + what + ": " + bytes.length + " bytes (official " + officialBytes.length
            + "), y symbols differing at official rounding ties: " + flipped + " (official y - mu up to " + widest
            + " from a tie)");
      }
    }
  }

  /**
   * The official 2K file decodes, with the default tiles and untiled, to the official 8-bit x̂ but at rounding ties of
   * the official float x̂ (the rule of Golden#assertSame8BitImage; the reference holds the official image as its
   * SHA-256 plus the float x̂ of every sample within 2e-5 of a rounding midpoint).
   */
  @Test
  void theOfficialTwoKFileDecodesToTheOfficialPixelsTiledAndUntiled() throws Exception {
    Path weights = Golden.golden("taco-small/checkpoint.pth.tar");
    CompressAiFile official = CompressAiFile.parse(Files.readAllBytes(Golden.golden(TWO_K + ".bin")));
    SafeTensors.Contents ties = SafeTensors.read(Golden.golden(TWO_K + ".ties.safetensors"));
    int[] index = ties.tensors().get("x_hat.index").toIntArray();
    float[] value = ties.tensors().get("x_hat.value").toFloatArray();
    String sha = new ObjectMapper().readTree(ties.metadata().get("info")).get("x_hat_u8_sha256").asText();
    try (TacoCodec tiled = TacoCodec.builder().setWeights(weights).build();
        TacoCodec whole = TacoCodec.builder().setWeights(weights).optTiling(Tiling.NONE).build()) {
      for (TacoCodec codec : new TacoCodec[] {tiled, whole}) {
        String what = codec == tiled ? "2K default tiles" : "2K untiled";
        float[] a = codec.decompress(official).toFloatArray();
        int flips = Golden.assertSame8BitImage(sha, index, value, a, TWO_K_H, TWO_K_W, what + " decoded");
        System.out.println("[TilingTest] " + what + ": official pixels but for " + flips + " rounding tie(s)");
      }
    }
  }

  private static int[] ySymbols(TacoModel model, CompressAiFile file, NDManager m) {
    try (NDScope scope = new NDScope()) {
      TacoModel.Strings s = new TacoModel.Strings(file.yString(), file.zString(), file.zHeight(), file.zWidth());
      return model.decodeLatents(s, m, StageListener.NONE, true).ySymbols().symbols();
    }
  }

  /** The 2K input the official code coded, checked against the SHA-256 of the official run's RGB bytes. */
  private static HostTensor twoKInput() throws Exception {
    HostTensor image = Images.read(Golden.golden(TWO_K + ".png"));
    assertArrayEquals(new long[] {1, 3, TWO_K_H, TWO_K_W}, image.shape());
    float[] px = image.toFloatArray();
    byte[] hwc = new byte[px.length];
    int plane = TWO_K_H * TWO_K_W;
    for (int p = 0; p < plane; p++) {
      for (int c = 0; c < 3; c++) {
        hwc[3 * p + c] = (byte) Math.round(px[c * plane + p] * 255f);
      }
    }
    String info = SafeTensors.read(Golden.golden(TWO_K + ".ties.safetensors")).metadata().get("info");
    assertEquals(new ObjectMapper().readTree(info).get("input_png_rgb_sha256").asText(), Golden.sha256(hwc),
        "the PNG is the official run's input");
    return image;
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
