package ai.taco.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.taco.core.testing.Golden;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** The --clip/--caption mixin a compress command embeds. */
class ClipCaptionOptionsTest {
  @Command(name = "fake")
  static final class Fake implements Runnable {
    @Mixin ClipCaptionOptions clip;

    @Override
    public void run() {}
  }

  @Test
  void parsesAndEncodesTheCaption(@TempDir Path dir) throws Exception {
    Files.copy(Golden.golden("clip/text-small-config.json"), dir.resolve("config.json"));
    Files.copy(Golden.golden("clip/text-small.safetensors"), dir.resolve("model.safetensors"));
    Files.copy(Golden.golden("clip/tokenizer-pad38.json"), dir.resolve("tokenizer.json"));
    Fake f = new Fake();
    new CommandLine(f).parseArgs("--clip", dir.toString(), "--caption", "a red door with a metal door knocker on it");
    assertTrue(f.clip.hasCaption());
    assertEquals(dir, f.clip.clipDirectory());
    float[] golden = Golden.tensors("clip/text-small-out.safetensors").get("last_hidden_state").toFloatArray();
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray e = f.clip.encode(m);
      assertArrayEquals(new long[] {1, 38, 64}, e.getShape().getShape());
      float[] want = Arrays.copyOfRange(golden, 38 * 64, 2 * 38 * 64); // kodim02
      float[] got = e.toFloatArray();
      for (int i = 0; i < want.length; i++) {
        assertEquals(want[i], got[i], 1e-5);
      }
    }
    float[] host = f.clip.encodeTensor().toFloatArray();
    float[] want = Arrays.copyOfRange(golden, 38 * 64, 2 * 38 * 64);
    for (int i = 0; i < want.length; i++) {
      assertEquals(want[i], host[i], 1e-5);
    }
    assertArrayEquals(new long[] {1, 38, 64}, f.clip.encodeTensor().shape());
    Fake none = new Fake();
    new CommandLine(none).parseArgs();
    assertFalse(none.clip.hasCaption());
  }
}
