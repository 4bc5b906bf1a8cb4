package ai.taco.core.clip;

import ai.taco.core.ClipTextEncoder;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.taco.core.TacoCodec;
import ai.taco.core.TacoConfig;
import ai.taco.core.bitstream.TacoFile;
import ai.taco.core.tensor.HostTensor;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The product path: caption -> ClipTextEncoder -> TacoCodec.compress -> decompress (tiny random TACO, width 64). */
class CaptionToCodecTest {
  @Test
  void captionFeaturesDriveTheCodec(@TempDir Path dir) throws Exception {
    TacoConfig tinyText64 = new TacoConfig(16, 32, List.of(2, 2, 4, 8, 16), 64, 8);
    float[] px = new float[3 * 64 * 64];
    Random r = new Random(7);
    for (int i = 0; i < px.length; i++) {
      px[i] = r.nextFloat();
    }
    HostTensor image = HostTensor.ofFloats(px, 1, 3, 64, 64);
    try (ClipTextEncoder enc = ClipTextEncoder.load(ClipTextEncoderTest.modelDir(dir));
        TacoCodec codec = TacoCodec.builder().setRandomWeights(3).optConfig(tinyText64).build()) {
      HostTensor a = enc.encodeTensor("a brick building with red doors and windows");
      assertArrayEquals(new long[] {1, 38, 64}, a.shape());
      TacoFile fa = codec.compress(image, a);
      // The decoder needs no caption. (A freshly initialised TACO ignores the caption: its adapter's layer-scale
      // gammas start at zero, so only the contract is checked here.)
      assertArrayEquals(new long[] {1, 3, 64, 64}, codec.decompress(fa).shape());
    }
  }
}
