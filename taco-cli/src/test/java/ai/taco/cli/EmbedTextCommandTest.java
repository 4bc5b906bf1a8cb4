package ai.taco.cli;

import static ai.taco.core.testing.Diff.maxAbs;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.core.weights.SafeTensors;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code taco embed-text} end to end on a HF-style directory holding the small golden CLIP text model. */
class EmbedTextCommandTest {
  @TempDir Path tmp;

  private Path clipDir() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("clip"));
    Files.copy(Golden.golden("clip/text-small-config.json"), dir.resolve("config.json"));
    Files.copy(Golden.golden("clip/text-small.safetensors"), dir.resolve("model.safetensors"));
    Files.copy(Golden.golden("clip/tokenizer.json"), dir.resolve("tokenizer.json"));
    return dir;
  }

  private static int run(StringWriter err, String... args) {
    CommandLine cl = TacoCli.commandLine();
    cl.setErr(new PrintWriter(err, true));
    return cl.execute(args);
  }

  @Test
  void writesLastHiddenStateForOneCaptionAndForAFile() throws IOException {
    Path dir = clipDir();
    float[] golden = Golden.tensors("clip/text-small-out.safetensors").get("last_hidden_state").toFloatArray();
    int row = 38 * 64;
    Path out = tmp.resolve("e.safetensors");
    StringWriter err = new StringWriter();
    int rc =
        run(err, "embed-text", "--clip", dir.toString(), "--caption", "a brick building with red doors and windows",
            "--out", out.toString());
    assertEquals(0, rc, err.toString());
    SafeTensors.Contents c = SafeTensors.read(out);
    assertEquals(1, c.tensors().size());
    HostTensor t = c.get("last_hidden_state");
    assertArrayEquals(new long[] {1, 38, 64}, t.shape());
    assertTrue(maxAbs(Arrays.copyOfRange(golden, 0, row), t.toFloatArray()) <= 1e-5);

    // No overwrite without --force.
    rc = run(err, "embed-text", "--clip", dir.toString(), "--caption", "x", "--out", out.toString());
    assertEquals(2, rc);
    assertTrue(err.toString().contains("--force"), err.toString());
    assertArrayEquals(new long[] {1, 38, 64}, SafeTensors.read(out).get("last_hidden_state").shape());

    // A caption file: kodim01, kodim02, an empty line, kodim03 (one per line).
    Path captions = tmp.resolve("captions.txt");
    Files.writeString(
        captions,
        "a brick building with red doors and windows\na red door with a metal door knocker on it\n\n"
            + "a group of hats on the side of a wall\n",
        StandardCharsets.UTF_8);
    rc = run(err, "embed-text", "--clip", dir.toString(), "--captions", captions.toString(), "--out", out.toString(),
        "--force");
    assertEquals(0, rc, err.toString());
    HostTensor many = SafeTensors.read(out).get("last_hidden_state");
    assertArrayEquals(new long[] {4, 38, 64}, many.shape());
    float[] v = many.toFloatArray();
    int empty = 24; // the golden "empty" caption
    assertTrue(maxAbs(Arrays.copyOfRange(golden, 0, 2 * row), Arrays.copyOfRange(v, 0, 2 * row)) <= 1e-5);
    assertTrue(maxAbs(Arrays.copyOfRange(golden, empty * row, (empty + 1) * row), Arrays.copyOfRange(v, 2 * row, 3 * row)) <= 1e-5);
    assertTrue(maxAbs(Arrays.copyOfRange(golden, 2 * row, 3 * row), Arrays.copyOfRange(v, 3 * row, 4 * row)) <= 1e-5);
  }

  @Test
  void refusesInvalidUtf8AndNamesMissingFiles() throws IOException {
    Path dir = clipDir();
    Path bad = tmp.resolve("bad.txt");
    Files.write(bad, new byte[] {'o', 'k', '\n', (byte) 0xE2, (byte) 0x28, (byte) 0xA1, '\n'});
    StringWriter err = new StringWriter();
    int rc = run(err, "embed-text", "--clip", dir.toString(), "--captions", bad.toString(), "--out",
        tmp.resolve("o.safetensors").toString());
    assertEquals(2, rc);
    assertTrue(err.toString().contains("not valid UTF-8"), err.toString());
    assertTrue(Files.notExists(tmp.resolve("o.safetensors")));

    Path empty = Files.createDirectories(tmp.resolve("empty"));
    err = new StringWriter();
    rc = run(err, "embed-text", "--clip", empty.toString(), "--caption", "x", "--out",
        tmp.resolve("o.safetensors").toString());
    assertEquals(2, rc);
    String msg = err.toString();
    assertTrue(msg.contains("config.json") && msg.contains("model.safetensors") && msg.contains("tokenizer.json"), msg);
    assertTrue(msg.contains("docs/weights.md"), msg);
  }


}
