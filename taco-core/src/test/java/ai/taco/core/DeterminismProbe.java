package ai.taco.core;

import ai.taco.core.bitstream.TacoFile;
import ai.taco.core.image.Images;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;

/**
 * Run in a fresh JVM by {@link DeterminismTest} (libtorch's thread count is fixed at engine start): codes kodim01 with
 * the golden small model ({@code small}) or a seeded random full-size model ({@code full}: N=192, M=320, the shapes
 * and kernel paths of the real checkpoints) and prints SHA-256 of the file, of the decoded image's 8-bit samples and
 * of its float32 values.
 */
public final class DeterminismProbe {
  private DeterminismProbe() {}

  /** Seed of the random full-size model. */
  private static final long FULL_SEED = 7;

  public static void main(String[] args) throws Exception {
    System.out.println(run(args[0]));
  }

  static String run(String preset) throws Exception {
    HostTensor image = Images.read(Golden.data("kodak/kodim01.png"));
    Random r = new Random(42);
    float[] text = new float[38 * 512];
    for (int i = 0; i < text.length; i++) {
      text[i] = (float) r.nextGaussian();
    }
    try (TacoCodec codec =
        preset.equals("full")
            ? TacoCodec.builder().setRandomWeights(FULL_SEED).optConfig(TacoConfig.FULL).build()
            : TacoCodec.builder().setWeights(Golden.tacoSmallWeights())
                .optConfig(TacoConfig.SMALL).build()) {
      TacoFile f = codec.compress(image, HostTensor.ofFloats(text, 38, 512));
      HostTensor x = codec.decompress(TacoFile.parse(f.toBytes()));
      return "file=" + sha(f.toBytes()) + " png8=" + sha(rgb8(x.toFloatArray())) + " float=" + sha(x.toByteArray());
    }
  }

  /** The 8-bit samples a PNG of x holds (round(clamp(v,0,1)·255), as Images.writePng). */
  static byte[] rgb8(float[] x) {
    byte[] out = new byte[x.length];
    for (int i = 0; i < x.length; i++) {
      out[i] = (byte) Math.rint(Math.min(Math.max(x[i], 0f), 1f) * 255f);
    }
    return out;
  }

  private static String sha(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }
}
