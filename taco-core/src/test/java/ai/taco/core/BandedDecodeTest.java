package ai.taco.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.taco.core.bitstream.CodedImage;
import ai.taco.core.bitstream.CompressAiFile;
import ai.taco.core.bitstream.ScaleTable;
import ai.taco.core.bitstream.TacoFile;
import ai.taco.core.image.Images;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.core.weights.StateDict;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The banded decoder against the whole-image one it replaced: x̂ assembled by gS over all tiles (TiledSynthesis#forward,
 * the path the decoder used), then cropped and clamped as a whole. Same tiles, same operations: the floats must be
 * bit-identical, tiled (tiles far smaller than the image, some bands partly or wholly in the padding) and untiled.
 */
class BandedDecodeTest {
  /** 32-pixel tiles with 16-pixel sub-tiles: a 128-row image comes in several bands, each of several sub-tiles. */
  private static final Tiling SMALL_TILES = new Tiling(32, 16);
  /** Tiles that leave a partial last tile on the 192-wide image. */
  private static final Tiling ODD_TILES = new Tiling(80, 48);

  private static Map<String, HostTensor> weights;
  /** Official files of the small model, and files of images whose size is no multiple of 64 (padded, cropped). */
  private static final List<CodedImage> FILES = new ArrayList<>();

  @BeforeAll
  static void files() throws Exception {
    weights = StateDict.load(Golden.golden("taco-small/checkpoint.pth.tar"));
    FILES.add(CompressAiFile.parse(Files.readAllBytes(Golden.golden("taco-small/img0_64x64.bin"))));
    FILES.add(CompressAiFile.parse(Files.readAllBytes(Golden.golden("taco-small/img1_128x192.bin"))));
    Map<String, HostTensor> g = Golden.tensors("taco-small/img1_128x192.safetensors");
    float[] px = g.get("x").toFloatArray();
    try (TacoCodec codec = TacoCodec.builder().setWeights(weights).build()) {
      // 100 rows: padded to 128, the last band partly padding; 70 rows: with 32-pixel tiles a band wholly padding.
      for (int[] hw : new int[][] {{100, 150}, {70, 133}}) {
        float[] cropped = new float[3 * hw[0] * hw[1]];
        for (int c = 0; c < 3; c++) {
          for (int r = 0; r < hw[0]; r++) {
            System.arraycopy(px, (c * 128 + r) * 192, cropped, (c * hw[0] + r) * hw[1], hw[1]);
          }
        }
        FILES.add(codec.compress(HostTensor.ofFloats(cropped, 1, 3, hw[0], hw[1]), g.get("text_embeddings")));
      }
    }
  }

  /** The decoder before bands: gS's whole x̂ (as tiled by {@code tiling}), cropped, clamped if asked, to the host. */
  private static float[] wholeImageDecode(CodedImage file, Tiling tiling, boolean clamp) {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      TacoModel model = TacoModel.load(weights, TacoConfig.infer(weights), m, ScaleTable.defaultTable());
      model.update();
      model.freeze();
      byte[] y;
      byte[] z;
      if (file instanceof TacoFile t) {
        y = t.yString();
        z = t.zString();
      } else {
        List<byte[]> s = ((CompressAiFile) file).strings();
        y = s.get(0); // the official order: y, then z
        z = s.get(1);
      }
      TacoModel.Latents l =
          model.decodeLatents(new TacoModel.Strings(y, z, file.zHeight(), file.zWidth()), m, StageListener.NONE);
      NDArray xHat = model.synthesize(l.yHat(), StageListener.NONE, tiling);
      NDArray out = Images.crop(xHat, file.height(), file.width());
      return (clamp ? out.clip(0f, 1f) : out).toFloatArray();
    }
  }

  private static List<HostTensor> bands(TacoCodec codec, CodedImage file, DecodeOptions options) {
    List<HostTensor> bands = new ArrayList<>();
    codec.decompress(file, options, bands::add);
    return bands;
  }

  /** Bands in order, each [3,rows,W] with rows >= 1, concatenated row-wise into planar [3,H,W]. */
  private static float[] concat(List<HostTensor> bands, int h, int w) {
    float[] out = new float[3 * h * w];
    int top = 0;
    for (HostTensor b : bands) {
      long[] s = b.shape();
      assertEquals(3, s.length);
      assertEquals(3, s[0]);
      assertEquals(w, s[2]);
      int rows = (int) s[1];
      assertTrue(rows >= 1, "empty band");
      float[] f = b.toFloatArray();
      for (int c = 0; c < 3; c++) {
        System.arraycopy(f, c * rows * w, out, (c * h + top) * w, rows * w);
      }
      top += rows;
    }
    assertEquals(h, top, "the bands' rows add up to the image height");
    return out;
  }

  @Test
  void bandsAndTheReturnedImageAreBitIdenticalToTheWholeImageDecode() {
    for (Tiling tiling : new Tiling[] {SMALL_TILES, ODD_TILES, Tiling.DEFAULT}) {
      try (TacoCodec codec = TacoCodec.builder().setWeights(weights).optTiling(tiling).build()) {
        for (CodedImage file : FILES) {
          for (boolean clamp : new boolean[] {true, false}) {
            String what = tiling + " " + file.height() + "x" + file.width() + " clamp " + clamp;
            DecodeOptions options = DecodeOptions.DEFAULT.withClamp(clamp);
            float[] expected = wholeImageDecode(file, tiling, clamp);
            HostTensor image = codec.decompress(file, options);
            assertArrayEquals(new long[] {1, 3, file.height(), file.width()}, image.shape(), what);
            assertArrayEquals(expected, image.toFloatArray(), what); // exact: assertArrayEquals on floats
            List<HostTensor> bands = bands(codec, file, options);
            assertArrayEquals(expected, concat(bands, file.height(), file.width()), what);
            if (tiling.covers(16L * 4 * file.zHeight(), 16L * 4 * file.zWidth())) {
              assertEquals(1, bands.size(), what + ": one band when the image fits one sub-tile");
            } else if (tiling == SMALL_TILES) {
              // 32-pixel tiles: no image here fits one row of tiles.
              assertTrue(bands.size() > 1, what + ": a band per row of tiles, got " + bands.size());
            }
          }
        }
      }
    }
  }

  @Test
  void clampedValuesLieInTheUnitIntervalAndUnclampedOnesDoNotAllDo() {
    try (TacoCodec codec = TacoCodec.builder().setWeights(weights).optTiling(SMALL_TILES).build()) {
      CodedImage file = FILES.get(1);
      float[] raw = codec.decompress(file, DecodeOptions.unclamped()).toFloatArray();
      float[] clamped = codec.decompress(file).toFloatArray();
      boolean outside = false;
      for (int i = 0; i < raw.length; i++) {
        outside |= raw[i] < 0f || raw[i] > 1f;
        assertEquals(Math.min(Math.max(raw[i], 0f), 1f), clamped[i], 0f, "sample " + i);
      }
      assertTrue(outside, "the small model's reconstruction overshoots somewhere: clamping is exercised");
    }
  }

  /** A consumer's exception ends the decode at once and propagates as is; the codec stays usable. */
  @Test
  void aFailingConsumerStopsTheDecode() {
    try (TacoCodec codec = TacoCodec.builder().setWeights(weights).optTiling(SMALL_TILES).build()) {
      CodedImage file = FILES.get(1);
      IllegalStateException stop = new IllegalStateException("disk full");
      int[] calls = {0};
      codec.decompress(file); // the first call may set up what later calls reuse
      int arrays = codec.managedArrays();
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> codec.decompress(file,
          DecodeOptions.DEFAULT, band -> {
            if (++calls[0] == 2) {
              throw stop;
            }
          }));
      assertSame(stop, e);
      assertEquals(2, calls[0]);
      assertArrayEquals(wholeImageDecode(file, SMALL_TILES, true), codec.decompress(file).toFloatArray());
      assertEquals(arrays, codec.managedArrays(), "nothing of the stopped call left in the codec's manager");
    }
  }

  /** A file refused by its checks gives no band at all: the checksums come before gS. */
  @Test
  void aFileFailingItsChecksGivesNoBand() {
    try (TacoCodec codec = TacoCodec.builder().setWeights(weights).optTiling(SMALL_TILES).build()) {
      TacoFile good = (TacoFile) FILES.get(2);
      TacoFile forged = new TacoFile(good.scaleTable(), codec.weightsFingerprint(), good.height(), good.width(),
          good.zHeight(), good.zWidth(), good.zSymbolsCrc(), good.ySymbolsCrc() ^ 1, good.zString(), good.yString());
      List<HostTensor> bands = new ArrayList<>();
      assertThrows(ai.taco.core.error.BitstreamException.class,
          () -> codec.decompress(forged, DecodeOptions.DEFAULT, bands::add));
      assertEquals(0, bands.size());
    }
  }
}
