package ai.taco.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.tensor.HostTensor;
import ai.taco.core.tensor.Precision;
import ai.taco.core.image.Images;
import ai.taco.core.bitstream.TacoFile;
import ai.taco.core.nn.ReducedPrecision;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * bfloat16 gA/gS ({@link TacoCodec.Builder#optPrecision}) on the bundled demo model (models/demo: trained weights,
 * so PSNR and rate mean something) and a 256×384 crop of its Kodak image (kodim23): the file stays decodable by the
 * float32 decoder with nearly its quality, and float32 calls keep their exact bytes whatever ran before them.
 */
class ReducedPrecisionCodecTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  /**
   * Largest PSNR change allowed against the all-float32 result: 0.15 dB, the project's target for a float32 decode of
   * a bfloat16-encoded file. bfloat16 keeps 8 significant bits, so each convolution output carries a relative error
   * of about 2^-9; measured on this crop, the changes are a few hundredths of a dB (docs/performance.md), an order
   * of magnitude below the bound, while a broken cast (e.g. a wrong dtype, a lost bias) costs several dB.
   */
  private static final double MAX_PSNR_CHANGE_DB = 0.15;

  /** Largest relative change of the file size against float32: 1 %, the project's target for bfloat16. */
  private static final double MAX_RATE_CHANGE = 0.01;

  private static final long[] NO_CAPTION = {1, 38, 512};

  private static TacoCodec fp32;
  private static TacoCodec bf16;
  private static HostTensor image;
  private static HostTensor caption;

  @BeforeAll
  static void load() {
    Path weights = ROOT.resolve("models/demo/taco-tiny-demo.safetensors");
    fp32 = TacoCodec.builder().setWeights(weights).optConfig(TacoConfig.preset("tiny")).build();
    bf16 = TacoCodec.builder().setWeights(weights).optConfig(TacoConfig.preset("tiny"))
        .optPrecision(Precision.BF16).build();
    image = crop(Images.read(ROOT.resolve("models/demo/kodim23.png")), 256, 384);
    caption = HostTensor.ofFloats(new float[38 * 512], NO_CAPTION); // the demo model was trained without captions
  }

  @AfterAll
  static void close() {
    fp32.close();
    bf16.close();
  }

  @Test
  void bf16FileDecodesWithTheFp32DecoderAtNearlyTheFp32Quality() {
    TacoFile ref = fp32.compress(image, caption);
    TacoFile low = bf16.compress(image, caption);
    assertEquals(Precision.BF16, bf16.precision());
    // Reduced precision really ran: a silent float32 fallback would give the float32 bytes.
    assertFalse(java.util.Arrays.equals(ref.toBytes(), low.toBytes()), "bf16 gA changed the latent");

    // The float32 decoder reads the bf16 file: fingerprint, scale table and symbol checksums are checked on the way.
    TacoFile parsed = TacoFile.parse(low.toBytes());
    double psnrRef = psnr(fp32.decompress(ref));
    double psnrLowFp32Decode = psnr(fp32.decompress(parsed));
    double psnrLowBf16Decode = psnr(bf16.decompress(parsed));
    double psnrFp32FileBf16Decode = psnr(bf16.decompress(ref));
    String report = "PSNR fp32 " + psnrRef + ", bf16 file fp32 decode " + psnrLowFp32Decode + ", bf16 decode "
        + psnrLowBf16Decode + ", fp32 file bf16 decode " + psnrFp32FileBf16Decode;
    assertTrue(psnrRef > 20, "the demo model codes this crop properly: " + report);
    assertTrue(Math.abs(psnrLowFp32Decode - psnrRef) <= MAX_PSNR_CHANGE_DB, report);
    assertTrue(Math.abs(psnrLowBf16Decode - psnrRef) <= MAX_PSNR_CHANGE_DB, report);
    assertTrue(Math.abs(psnrFp32FileBf16Decode - psnrRef) <= MAX_PSNR_CHANGE_DB, report);
    double rate = (double) low.toBytes().length / ref.toBytes().length;
    assertTrue(Math.abs(rate - 1) <= MAX_RATE_CHANGE, "bf16 / fp32 size " + rate);
  }

  @Test
  void precisionIsRestoredAfterEachCallOnTheSameAndOtherThreads() throws Exception {
    byte[] before = fp32.compress(image, caption).toBytes();
    byte[] low = bf16.compress(image, caption).toBytes();
    assertEquals(Precision.FP32, ReducedPrecision.active(), "nothing stays switched on after a bf16 call");
    assertArrayEquals(before, fp32.compress(image, caption).toBytes(), "fp32 right after bf16 on the same thread");
    float[] decoded = fp32.decompress(TacoFile.parse(before)).toFloatArray();
    bf16.decompress(TacoFile.parse(before));
    assertArrayEquals(decoded, fp32.decompress(TacoFile.parse(before)).toFloatArray(), "fp32 decode after bf16");

    // bf16 and fp32 calls at the same time on two threads: the switch is per thread.
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      Future<byte[]> lowRun = pool.submit(() -> bf16.compress(image, caption).toBytes());
      Future<byte[]> fp32Run = pool.submit(() -> fp32.compress(image, caption).toBytes());
      assertArrayEquals(before, fp32Run.get(), "fp32 while another thread runs bf16");
      assertArrayEquals(low, lowRun.get(), "bf16 is deterministic too");
    } finally {
      pool.shutdown();
    }
  }

  /** PSNR (dB) of a decoded image against the crop, on [0,1] values as decoded (clamped). */
  private static double psnr(HostTensor decoded) {
    float[] a = image.toFloatArray();
    float[] b = decoded.toFloatArray();
    assertEquals(a.length, b.length);
    double se = 0;
    for (int i = 0; i < a.length; i++) {
      double d = a[i] - b[i];
      se += d * d;
    }
    return 10 * Math.log10(a.length / se);
  }

  private static HostTensor crop(HostTensor img, int h, int w) {
    int fullH = (int) img.shape()[2];
    int fullW = (int) img.shape()[3];
    float[] src = img.toFloatArray();
    float[] out = new float[3 * h * w];
    for (int c = 0; c < 3; c++) {
      for (int y = 0; y < h; y++) {
        System.arraycopy(src, (c * fullH + y) * fullW, out, (c * h + y) * w, w);
      }
    }
    return HostTensor.ofFloats(out, 1, 3, h, w);
  }
}
