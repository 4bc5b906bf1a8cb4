package ai.taco.core.clip;

import ai.taco.core.ClipTextEncoder;
import ai.taco.core.error.ClipException;
import ai.taco.core.error.InvalidCaptionException;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Diff;
import ai.taco.core.testing.Golden;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The product's caption encoder on a HF-style directory of the small golden model. */
class ClipTextEncoderTest {

  static Path modelDir(Path dir) throws IOException {
    Files.copy(Golden.golden("clip/text-small-config.json"), dir.resolve("config.json"));
    Files.copy(Golden.golden("clip/text-small.safetensors"), dir.resolve("model.safetensors"));
    Files.copy(Golden.golden("clip/tokenizer.json"), dir.resolve("tokenizer.json"));
    return dir;
  }

  @Test
  void encodesCaptionsLikeTransformers(@TempDir Path dir) throws Exception {
    HostTensor golden = Golden.tensors("clip/text-small-out.safetensors").get("last_hidden_state");
    float[] all = golden.toFloatArray();
    int row = 38 * 64;
    JsonCaptions captions = JsonCaptions.golden();
    try (ClipTextEncoder enc = ClipTextEncoder.load(modelDir(dir))) {
      assertEquals(64, enc.width());
      assertEquals(38, enc.sequenceLength());
      for (int i : new int[] {0, 16, 24, 25, 31, 38}) { // kodim01, kodim17 (U+FFFD), empty, long, emoji, literal EOT
        float[] e = enc.encode(captions.texts().get(i));
        assertEquals(row, e.length);
        double d = Diff.maxAbs(Arrays.copyOfRange(all, i * row, (i + 1) * row), e);
        assertTrue(d <= 1e-5, captions.names().get(i) + ": " + d);
      }
      try (NDManager m = NDManager.newBaseManager()) {
        NDArray batch = enc.encode(m, captions.texts());
        assertArrayEquals(new long[] {41, 38, 64}, batch.getShape().getShape());
        assertTrue(Diff.maxAbs(all, batch.toFloatArray()) <= 1e-5);
      }
      // Concurrent callers get the same answers as a lone caller.
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        List<Future<float[]>> fs =
            List.of(
                pool.submit(() -> enc.encode(captions.texts().get(1))),
                pool.submit(() -> enc.encode(captions.texts().get(2))),
                pool.submit(() -> enc.encode(captions.texts().get(1))));
        assertArrayEquals(fs.get(0).get(), fs.get(2).get());
        assertTrue(Diff.maxAbs(Arrays.copyOfRange(all, 2 * row, 3 * row), fs.get(1).get()) <= 1e-5);
      } finally {
        pool.shutdown();
      }
      assertThrows(InvalidCaptionException.class, () -> enc.encode("bad \uD800 caption"));
    }
  }

  @Test
  void missingTokenizerIsNamed(@TempDir Path dir) throws IOException {
    modelDir(dir);
    Files.delete(dir.resolve("tokenizer.json"));
    ClipException e = assertThrows(ClipException.class, () -> ClipTextEncoder.load(dir));
    assertTrue(e.getMessage().contains("missing tokenizer.json"), e.getMessage());
    assertTrue(e.getMessage().contains("docs/weights.md"), e.getMessage());
  }

  @Test
  void directoryResolutionOrder() {
    assertEquals(Path.of("x"), ClipFiles.resolveDirectory(Path.of("x"), "/env"));
    assertEquals(Path.of("/env"), ClipFiles.resolveDirectory(null, "/env"));
    assertEquals(Path.of("models/clip-vit-base-patch32"), ClipFiles.resolveDirectory(null, null));
    assertEquals(Path.of("models/clip-vit-base-patch32"), ClipFiles.resolveDirectory(null, " "));
  }
}
