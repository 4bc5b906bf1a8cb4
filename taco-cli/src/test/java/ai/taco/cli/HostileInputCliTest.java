package ai.taco.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.testing.Golden;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** CLI messages for inputs and outputs that are not what they seem: one line saying what the path really is. */
class HostileInputCliTest {
  @TempDir Path tmp;

  private record Run(int code, String out, String err) {}

  private static Run run(String... args) {
    PrintStream saved = System.out;
    ByteArrayOutputStream sysOut = new ByteArrayOutputStream();
    StringWriter err = new StringWriter();
    try {
      System.setOut(new PrintStream(sysOut, true, StandardCharsets.UTF_8));
      CommandLine cl = TacoCli.commandLine();
      cl.setErr(new PrintWriter(err, true));
      int code = cl.execute(args);
      return new Run(code, sysOut.toString(StandardCharsets.UTF_8), err.toString());
    } finally {
      System.setOut(saved);
    }
  }

  private static void assertRefused(Run r, String... fragments) {
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().startsWith("taco: "), r.err());
    assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
    for (String f : fragments) {
      assertTrue(r.err().contains(f), "'" + f + "' in: " + r.err());
    }
  }

  private Path fifo(String name) throws Exception {
    Path p = tmp.resolve(name);
    Assumptions.assumeTrue(new ProcessBuilder("mkfifo", p.toString()).start().waitFor() == 0, "mkfifo");
    return p;
  }

  private Run compress(Path out, String... extra) {
    String[] base = {"compress", "--in", Golden.golden("taco-small/img0_64x64.png").toString(), "--out",
        out.toString(), "--weights", tmp.resolve("no-weights.pth").toString(), "--preset", "small"};
    String[] args = java.util.Arrays.copyOf(base, base.length + extra.length);
    System.arraycopy(extra, 0, args, base.length, extra.length);
    return run(args);
  }

  @Test
  void textEmbeddingsThatAreNotFilesAreNamedAsSuch() throws Exception {
    Path out = tmp.resolve("o.taco");
    assertRefused(compress(out, "--text-embedding", fifo("emb.fifo").toString()), "is not a regular file");
    Assumptions.assumeTrue(Files.exists(Path.of("/dev/zero")));
    assertRefused(compress(out, "--text-embedding", "/dev/zero"), "/dev/zero", "is not a regular file");
    assertRefused(compress(out, "--text-embedding", tmp.toString()), "is a directory");
    assertRefused(compress(out, "--text-embedding", tmp.resolve("absent").toString()), "not found");
  }

  @Test
  void outputsThatAreNotRegularFilesAreRefusedBeforeAnyWork() throws Exception {
    Path fifo = fifo("out.fifo");
    assertRefused(compress(fifo, "--force"), "is not a regular file");
    assertFalse(Files.isRegularFile(fifo, LinkOption.NOFOLLOW_LINKS), "the FIFO is still a FIFO");
    Path target = Files.write(tmp.resolve("target.taco"), new byte[] {7});
    Path link = Files.createSymbolicLink(tmp.resolve("link.taco"), target);
    assertRefused(compress(link, "--force"), "is a symbolic link");
    assertArrayEquals(new byte[] {7}, Files.readAllBytes(target));
    Path plain = Files.write(tmp.resolve("plain"), new byte[1]);
    assertRefused(compress(plain.resolve("x.taco")), plain + " is a file, not a directory");
    assertRefused(compress(tmp.resolve("missing/x.taco")), "does not exist");
  }

  @Test
  void weightsAndCompressedInputsThatAreNotFilesAreNamedAsSuch() throws Exception {
    assertRefused(run("info", fifo("in.fifo").toString()), "is not a regular file");
    assertRefused(run("decompress", "--in", tmp.resolve("in.fifo").toString(), "--out",
        tmp.resolve("x.png").toString(), "--weights", tmp.resolve("w.pth").toString()), "is not a regular file");
    Path emb = tmp.resolve("e.safetensors");
    ai.taco.core.weights.SafeTensors.write(emb, java.util.Map.of("e",
        ai.taco.core.tensor.HostTensor.ofFloats(new float[38 * 512], 38, 512)), java.util.Map.of());
    assertRefused(run("compress", "--in", Golden.golden("taco-small/img0_64x64.png").toString(), "--out",
        tmp.resolve("o.taco").toString(), "--text-embedding", emb.toString(), "--weights",
        tmp.resolve("in.fifo").toString(), "--preset", "small"), "is not a regular file");
  }
}
