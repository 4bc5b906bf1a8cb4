package ai.taco.core;

import ai.taco.core.error.TacoException;
import ai.taco.core.bitstream.ScaleTable;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.modality.cv.Image;
import ai.taco.core.bitstream.CodedImage;
import ai.taco.core.bitstream.CompressAiFile;
import ai.taco.core.bitstream.TacoFile;
import ai.taco.core.error.BitstreamException;
import ai.taco.core.image.Images;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The public codec on the golden small model: official strings, any image size, threads, refusal of bad input. */
class TacoCodecTest {
  private static TacoCodec codec;
  private static Map<String, HostTensor> img1;

  @BeforeAll
  static void load() {
    codec = TacoCodec.builder().setWeights(Golden.golden("taco-small/checkpoint.pth.tar")).optConfig(TacoConfig.SMALL)
        .build();
    img1 = Golden.tensors("taco-small/img1_128x192.safetensors");
  }

  @AfterAll
  static void close() {
    codec.close();
  }

  @Test
  void officialBinRoundTripsWithTheOfficialStringsAndReconstruction() throws Exception {
    CodedImage bin = codec.compress(img1.get("x"), img1.get("text_embeddings"), EncodeOptions.official());
    byte[] official = java.nio.file.Files.readAllBytes(Golden.golden("taco-small/img1_128x192.bin"));
    assertArrayEquals(official, bin.toBytes(), "the .bin equals the one the official code wrote");
    HostTensor xHat = codec.decompress(CompressAiFile.parse(official));
    float[] ours = xHat.toFloatArray();
    float[] ref = img1.get("decompress.x_hat_cropped").toFloatArray();
    double worst = 0;
    for (int i = 0; i < ref.length; i++) {
      worst = Math.max(worst, Math.abs(ours[i] - Math.min(1f, Math.max(0f, ref[i]))));
    }
    assertArrayEquals(new long[] {1, 3, 128, 192}, xHat.shape());
    assertTrue(worst < 1e-4, "clamped x_hat max|err| " + worst);
  }

  /** A container that records the other Gaussian table is refused by every decode entry point, listener or not. */
  @Test
  void fileOfTheOtherScaleTableIsRefused() {
    TacoFile f = codec.compress(img1.get("x"), img1.get("text_embeddings"));
    TacoFile other = new TacoFile(ScaleTable.TORCH2, f.weightsFingerprint(), f.height(), f.width(), f.zHeight(),
        f.zWidth(), f.zSymbolsCrc(), f.ySymbolsCrc(), f.zString(), f.yString());
    List<org.junit.jupiter.api.function.Executable> calls = List.of(
        () -> codec.decompress(other), () -> codec.decompress(other, DecodeOptions.DEFAULT.withListener(stage -> {})),
        () -> codec.decompress(other, DecodeOptions.unclamped()));
    for (org.junit.jupiter.api.function.Executable call : calls) {
      BitstreamException e = assertThrows(BitstreamException.class, call);
      assertTrue(e.getMessage().contains("scale table"), e.getMessage());
    }
  }

  /** The official x_hat is not clamped: with these random weights a third of its samples lie below 0. */
  @Test
  void unclampedDecodeIsTheOfficialXHat() throws Exception {
    byte[] official = java.nio.file.Files.readAllBytes(Golden.golden("taco-small/img1_128x192.bin"));
    float[] raw = codec.decompress(CompressAiFile.parse(official), DecodeOptions.unclamped()).toFloatArray();
    float[] ref = img1.get("decompress.x_hat_cropped").toFloatArray();
    double worst = 0;
    int outside = 0;
    for (int i = 0; i < ref.length; i++) {
      worst = Math.max(worst, Math.abs(raw[i] - ref[i]));
      outside += ref[i] < 0 || ref[i] > 1 ? 1 : 0;
    }
    assertTrue(outside > ref.length / 4, "the golden x_hat has out-of-range samples: " + outside);
    assertTrue(worst < 1e-4, "unclamped x_hat max|err| " + worst);
    // The TacoFile route gives the same unclamped picture; the clamped one is its clamp.
    TacoFile f = codec.compress(img1.get("x"), img1.get("text_embeddings"));
    assertArrayEquals(raw, codec.decompress(f, DecodeOptions.unclamped()).toFloatArray());
    float[] clamped = codec.decompress(f).toFloatArray();
    for (int i = 0; i < raw.length; i++) {
      assertEquals(Math.min(1f, Math.max(0f, raw[i])), clamped[i]);
    }
  }

  @Test
  void tacoFileRoundTripAndAnySize() {
    // A 70x100 crop of image 1: padded to 128x128 inside, cropped back after decoding.
    HostTensor crop = crop(img1.get("x"), 128, 192, 70, 100);
    TacoFile f = codec.compress(crop, img1.get("text_embeddings"));
    assertEquals(70, f.height());
    assertEquals(100, f.width());
    assertEquals(2, f.zHeight());
    assertEquals(2, f.zWidth());
    TacoFile back = TacoFile.parse(f.toBytes());
    HostTensor x = codec.decompress(back);
    assertArrayEquals(new long[] {1, 3, 70, 100}, x.shape());
    // Same strings as coding the zero-padded image by hand (padding is right/bottom zeros).
    HostTensor padded = pad(crop, 70, 100, 128, 128);
    TacoFile g = codec.compress(padded, img1.get("text_embeddings"));
    assertArrayEquals(g.yString(), f.yString());
    assertArrayEquals(g.zString(), f.zString());
    // ... and its reconstruction's top-left 70x100 is ours.
    HostTensor full = codec.decompress(g);
    assertArrayEquals(crop(full, 128, 128, 70, 100).toFloatArray(), x.toFloatArray());
  }

  /** Without optConfig the architecture comes from the weights; the device defaults to DJL's default device. */
  @Test
  void builderInfersTheArchitectureAndUsesTheDefaultDevice() {
    try (TacoCodec inferred = TacoCodec.builder().setWeights(Golden.golden("taco-small/checkpoint.pth.tar")).build()) {
      assertEquals(TacoConfig.SMALL, inferred.config());
      assertEquals(ScaleTable.defaultTable(), inferred.scaleTable());
      assertEquals(Engine.getInstance().defaultDevice(), inferred.device());
      assertArrayEquals(codec.weightsFingerprint(), inferred.weightsFingerprint());
      // Same weights, same table: the same bytes.
      assertArrayEquals(codec.compress(img1.get("x"), img1.get("text_embeddings")).toBytes(),
          inferred.compress(img1.get("x"), img1.get("text_embeddings")).toBytes());
    }
    try (TacoCodec cpu = TacoCodec.builder().setWeights(Golden.tacoSmallWeights())
        .optDevice(Device.cpu()).optConfig(TacoConfig.SMALL).build()) {
      assertEquals(Device.cpu(), cpu.device());
    }
    assertThrows(IllegalStateException.class, () -> TacoCodec.builder().build());
    assertThrows(IllegalStateException.class, () -> TacoCodec.builder().setRandomWeights(1).build());
  }

  /** One decode entry: both file kinds parse through CodedImage and decode to the same picture. */
  @Test
  void eitherFileKindDecodesThroughOneEntry() {
    HostTensor x = img1.get("x");
    HostTensor text = img1.get("text_embeddings");
    CodedImage taco = CodedImage.parse(codec.compress(x, text, EncodeOptions.DEFAULT).toBytes());
    CodedImage bin = CodedImage.parse(codec.compress(x, text, EncodeOptions.official()).toBytes());
    assertTrue(taco instanceof TacoFile, taco.toString());
    assertTrue(bin instanceof CompressAiFile, bin.toString());
    assertArrayEquals(codec.decompress(taco).toFloatArray(), codec.decompress(bin).toFloatArray());
  }

  /** BufferedImage and DJL Image inputs give the bytes of the same pixels as a tensor; outputs convert back. */
  @Test
  void awtAndDjlImagesInAndOut() {
    HostTensor text = img1.get("text_embeddings");
    TacoFile f = codec.compress(img1.get("x"), text);
    HostTensor decoded = codec.decompress(f);
    BufferedImage awt = Images.toBufferedImage(decoded);
    assertEquals(192, awt.getWidth());
    assertEquals(128, awt.getHeight());
    // 8-bit pixels in, as the tensor of the same 8-bit values.
    HostTensor eight = Images.fromBufferedImage(awt);
    float[] d = decoded.toFloatArray();
    float[] e = eight.toFloatArray();
    for (int i = 0; i < d.length; i++) {
      assertEquals((float) (Math.rint(d[i] * 255f) / 255f), e[i], 1e-6f, "sample " + i);
    }
    byte[] fromTensor = codec.compress(eight, text).toBytes();
    assertArrayEquals(fromTensor, codec.compress(awt, text).toBytes());
    Image djl = Images.toImage(decoded);
    assertArrayEquals(fromTensor, codec.compress(djl, text).toBytes());
    assertArrayEquals(e, Images.fromImage(djl).toFloatArray());
  }

  @Test
  void concurrentCallsGiveTheSequentialResults() throws Exception {
    HostTensor text = img1.get("text_embeddings");
    List<HostTensor> images = List.of(img1.get("x"), crop(img1.get("x"), 128, 192, 64, 64), crop(img1.get("x"), 128, 192, 100, 130));
    List<byte[]> sequential = new ArrayList<>();
    for (HostTensor im : images) {
      sequential.add(codec.compress(im, text).toBytes());
    }
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      List<Future<byte[]>> futures = new ArrayList<>();
      for (int rep = 0; rep < 2; rep++) {
        for (HostTensor im : images) {
          futures.add(pool.submit(() -> {
            TacoFile f = codec.compress(im, text);
            codec.decompress(f);
            return f.toBytes();
          }));
        }
      }
      for (int i = 0; i < futures.size(); i++) {
        assertArrayEquals(sequential.get(i % images.size()), futures.get(i).get());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void nativeMemoryDoesNotGrowWithUse() {
    HostTensor text = img1.get("text_embeddings");
    HostTensor image = crop(img1.get("x"), 128, 192, 64, 100);
    codec.decompress(codec.compress(image, text));
    int after1 = codec.managedArrays();
    for (int i = 0; i < 4; i++) {
      codec.decompress(codec.compress(image, text));
    }
    assertTrue(after1 > 0);
    assertEquals(after1, codec.managedArrays(), "arrays left in the codec's manager after 4 more calls");
  }

  @Test
  void corruptTruncatedOrForeignFilesAreRefused() {
    TacoFile f = codec.compress(img1.get("x"), img1.get("text_embeddings"));
    byte[] y = f.yString();
    y[y.length / 2] ^= 0x5a;
    TacoFile corrupt = new TacoFile(f.scaleTable(), f.weightsFingerprint(), f.height(), f.width(), f.zHeight(),
        f.zWidth(), f.zSymbolsCrc(), f.ySymbolsCrc(), f.zString(), y);
    assertThrows(BitstreamException.class, () -> codec.decompress(corrupt));
    TacoFile truncated = new TacoFile(f.scaleTable(), f.weightsFingerprint(), f.height(), f.width(), f.zHeight(),
        f.zWidth(), f.zSymbolsCrc(), f.ySymbolsCrc(), f.zString(), Arrays.copyOf(f.yString(), 10));
    assertThrows(BitstreamException.class, () -> codec.decompress(truncated));
    byte[] otherWeights = f.weightsFingerprint();
    otherWeights[0] ^= 1;
    TacoFile foreign = new TacoFile(f.scaleTable(), otherWeights, f.height(), f.width(), f.zHeight(), f.zWidth(),
        f.zSymbolsCrc(), f.ySymbolsCrc(), f.zString(), f.yString());
    BitstreamException e = assertThrows(BitstreamException.class, () -> codec.decompress(foreign));
    assertTrue(e.getMessage().contains("different weights"), e.getMessage());
    TacoFile wrongSize = new TacoFile(f.scaleTable(), f.weightsFingerprint(), 500, 500, f.zHeight(), f.zWidth(),
        f.zSymbolsCrc(), f.ySymbolsCrc(), f.zString(), f.yString());
    assertThrows(BitstreamException.class, () -> codec.decompress(wrongSize));
    assertThrows(TacoException.class,
        () -> codec.compress(img1.get("x"), HostTensor.ofFloats(new float[38 * 100], 38, 100)));
    float[] nan = new float[38 * 512];
    nan[5] = Float.NaN;
    assertThrows(TacoException.class, () -> codec.compress(img1.get("x"), HostTensor.ofFloats(nan, 38, 512)));
  }

  static HostTensor crop(HostTensor x, int h, int w, int ch, int cw) {
    float[] src = x.toFloatArray();
    float[] out = new float[3 * ch * cw];
    for (int c = 0; c < 3; c++) {
      for (int r = 0; r < ch; r++) {
        System.arraycopy(src, (c * h + r) * w, out, (c * ch + r) * cw, cw);
      }
    }
    return HostTensor.ofFloats(out, 1, 3, ch, cw);
  }

  static HostTensor pad(HostTensor x, int h, int w, int ph, int pw) {
    float[] src = x.toFloatArray();
    float[] out = new float[3 * ph * pw];
    for (int c = 0; c < 3; c++) {
      for (int r = 0; r < h; r++) {
        System.arraycopy(src, (c * h + r) * w, out, (c * ph + r) * pw, w);
      }
    }
    return HostTensor.ofFloats(out, 1, 3, ph, pw);
  }
}
