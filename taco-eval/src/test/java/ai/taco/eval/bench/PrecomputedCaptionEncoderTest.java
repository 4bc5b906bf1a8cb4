package ai.taco.eval.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.CaptionEncoder;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.SafeTensors;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrecomputedCaptionEncoderTest {

  @Test
  void looksUpPerImageTensorsAndTheEmptyCaption(@TempDir Path tmp) throws Exception {
    float[] a = new float[38 * 512];
    float[] e = new float[38 * 512];
    for (int i = 0; i < a.length; i++) {
      a[i] = i * 0.001f;
      e[i] = -i;
    }
    Map<String, HostTensor> t = new LinkedHashMap<>();
    t.put("kodim01.png", HostTensor.ofFloats(a, 1, 38, 512));
    t.put("<empty>", HostTensor.ofFloats(e, 38, 512));
    t.put("bad.png", HostTensor.ofFloats(new float[38 * 256], 1, 38, 256));
    Path f = tmp.resolve("emb.safetensors");
    SafeTensors.write(f, t, Map.of());

    try (CaptionEncoder enc = new PrecomputedCaptionEncoder(f)) {
      assertTrue(enc.usesCaptions());
      assertTrue(enc.source().contains("emb.safetensors"));
      assertArrayEquals(a, enc.encodeTensor("kodim01.png", "a brick building").toFloatArray());
      assertArrayEquals(e, enc.encodeTensor("kodim01.png", "").toFloatArray());
      BenchmarkException x = assertThrows(BenchmarkException.class, () -> enc.encodeTensor("kodim02.png", "x"));
      assertTrue(x.getMessage().contains("kodim02.png"), x.getMessage());
      x = assertThrows(BenchmarkException.class, () -> enc.encodeTensor("bad.png", "x"));
      assertTrue(x.getMessage().contains("[1, 38, 256]"), x.getMessage());
    }
  }

  @Test
  void readsTacoEmbedTextOutputByCaption(@TempDir Path tmp) throws Exception {
    float[] all = new float[3 * 38 * 512];
    for (int i = 0; i < all.length; i++) {
      all[i] = i;
    }
    Path f = tmp.resolve("embed.safetensors");
    SafeTensors.write(f, Map.of("last_hidden_state", HostTensor.ofFloats(all, 3, 38, 512)),
        Map.of("captions", "[\"a dog\", \"\", \"a cat\"]"));
    try (CaptionEncoder enc = new PrecomputedCaptionEncoder(f)) {
      float[] cat = enc.encodeTensor("x.png", "a cat").toFloatArray();
      assertEquals(2 * 38 * 512, cat[0]);
      assertEquals(3 * 38 * 512 - 1, cat[cat.length - 1]);
      assertEquals(38 * 512, enc.encodeTensor("y.png", "").toFloatArray()[0]);
      BenchmarkException x = assertThrows(BenchmarkException.class, () -> enc.encodeTensor("z.png", "a cow"));
      assertTrue(x.getMessage().contains("a cow"), x.getMessage());
    }
    Path bad = tmp.resolve("bad.safetensors");
    SafeTensors.write(bad, Map.of("last_hidden_state", HostTensor.ofFloats(all, 3, 38, 512)),
        Map.of("captions", "[\"only one\"]"));
    assertThrows(BenchmarkException.class, () -> new PrecomputedCaptionEncoder(bad));
  }

  @Test
  void zeroFallbackSaysCaptionsAreNotUsed() {
    CaptionEncoder z = CaptionEncoder.zeros(512);
    assertEquals(false, z.usesCaptions());
    assertTrue(z.source().contains("NOT used"));
    for (float v : z.encodeTensor("x.png", "a dog").toFloatArray()) {
      assertEquals(0f, v);
    }
  }
}
