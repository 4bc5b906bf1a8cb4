package ai.taco.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.taco.core.bitstream.TacoFile;
import ai.taco.core.image.Images;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.tensor.Precision;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;

/**
 * What bfloat16 gA/gS does to the coded result of a full-size model (N=192, M=320: every convolution wide enough for
 * bfloat16, unlike the tiny demo model), for the numbers in docs/performance.md: per image, the file size and PSNR of
 * float32 and bfloat16 encoding, the float32 decode of the bfloat16 file, and how far the decoded latents ŷ of the two
 * files lie apart (max |Δŷ| and the share of elements that differ). Random weights (seed {@link #SEED}) or
 * {@code --weights W}; the caption is the Gaussian features {@code taco bench} uses. Not a test: run with
 * {@code mvn -o -q -pl taco-core -am test-compile exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=ai.taco.core.PrecisionQualityProbe -Dexec.args="[--weights W] a.png b.png ..."}.
 */
public final class PrecisionQualityProbe {
  /** Seed of the random full-size model ({@code taco bench}'s default). */
  private static final long SEED = 1;

  /** Seed of the caption features ({@code taco bench}'s). */
  private static final long CAPTION_SEED = 1;

  private PrecisionQualityProbe() {}

  public static void main(String[] args) {
    int first = 0;
    Path weights = null;
    if (args.length > 1 && args[0].equals("--weights")) {
      weights = Path.of(args[1]);
      first = 2;
    }
    Random r = new Random(CAPTION_SEED);
    float[] t = new float[38 * 512];
    for (int i = 0; i < t.length; i++) {
      t[i] = (float) r.nextGaussian();
    }
    HostTensor caption = HostTensor.ofFloats(t, 1, 38, 512);
    try (TacoCodec fp32 = build(weights, Precision.FP32);
        TacoCodec bf16 = build(weights, Precision.BF16)) {
      for (int i = first; i < args.length; i++) {
        Path image = Path.of(args[i]);
        HostTensor x = Images.read(image);
        long[] s = x.shape();
        double pixels = (double) s[s.length - 1] * s[s.length - 2];
        TacoFile a = fp32.compress(x, caption);
        TacoFile b = bf16.compress(x, caption);
        double psnrA = psnr(x, fp32.decompress(a));
        double psnrB = psnr(x, bf16.decompress(b));
        double psnrBf32 = psnr(x, fp32.decompress(b));
        double[] dy = latentDifference(fp32, a, b);
        System.out.printf(Locale.ROOT,
            "{\"image\":\"%s\",\"bpp_fp32\":%.6f,\"bpp_bf16\":%.6f,\"psnr_fp32\":%.4f,\"psnr_bf16\":%.4f,"
                + "\"psnr_bf16_file_fp32_decode\":%.4f,\"max_abs_dy\":%.4f,\"mean_abs_dy\":%.6f,"
                + "\"symbols_changed_fraction\":%.6f,\"mean_abs_y\":%.4f}%n",
            image.getFileName(), 8.0 * a.byteCount() / pixels, 8.0 * b.byteCount() / pixels, psnrA, psnrB, psnrBf32,
            dy[0], dy[1], dy[2], dy[3]);
      }
    }
  }

  private static TacoCodec build(Path weights, Precision p) {
    TacoCodec.Builder b = TacoCodec.builder().optConfig(TacoConfig.FULL).optPrecision(p);
    return (weights == null ? b.setRandomWeights(SEED) : b.setWeights(weights)).build();
  }

  /**
   * max and mean |ŷ_a − ŷ_b|, the share of elements whose symbol changed (|Δŷ| ≥ 1/2: the means differ slightly
   * everywhere, since the hyperprior sees another y, so a symbol change is what a whole step means), and mean |ŷ_a|
   * for scale; ŷ from the float32 model's entropy decoding of each file.
   */
  private static double[] latentDifference(TacoCodec codec, TacoFile a, TacoFile b) {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray ya = latents(codec, a, m);
      NDArray yb = latents(codec, b, m);
      NDArray d = ya.sub(yb).abs();
      double max = d.max().getFloat();
      double mean = d.mean().getFloat();
      double changed = d.gte(0.5f).sum().getLong() / (double) d.size();
      return new double[] {max, mean, changed, ya.abs().mean().getFloat()};
    }
  }

  private static NDArray latents(TacoCodec codec, TacoFile f, NDManager m) {
    return codec.model().decodeLatents(
        new TacoModel.Strings(f.yString(), f.zString(), f.zHeight(), f.zWidth()), m, StageListener.NONE).yHat();
  }

  /** PSNR of the 8-bit-rounded reconstruction, as {@code taco metrics} computes it on saved PNGs. */
  private static double psnr(HostTensor x, HostTensor y) {
    float[] a = x.toFloatArray();
    float[] b = y.toFloatArray();
    double se = 0;
    for (int i = 0; i < a.length; i++) {
      double d = eightBit(a[i]) - eightBit(b[i]);
      se += d * d;
    }
    return 10 * Math.log10(255.0 * 255.0 / (se / a.length));
  }

  /** The 8-bit sample a PNG of {@code v} holds (as the PNG writer rounds). */
  private static double eightBit(float v) {
    return Math.rint(Math.min(Math.max(v, 0f), 1f) * 255f);
  }
}
