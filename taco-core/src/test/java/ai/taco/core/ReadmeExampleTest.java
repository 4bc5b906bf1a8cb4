package ai.taco.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.bitstream.TacoFile;
import ai.taco.core.image.Images;
import ai.taco.core.tensor.HostTensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * README's "Use it from Java" block, exactly as written: compiled with the JDK's javac against the test class path and run
 * in its own JVM from the repository root, where it codes the bundled image with the bundled model.
 */
class ReadmeExampleTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  /** The first ```java block after the heading "## Use it from Java". */
  static String example() throws IOException {
    String readme = Files.readString(ROOT.resolve("README.md"));
    int section = readme.indexOf("## Use it from Java");
    assertTrue(section >= 0, "README has no 'Use it from Java' section");
    int start = readme.indexOf("```java\n", section);
    int end = readme.indexOf("```", start + 8);
    assertTrue(start >= 0 && end > start, "no java block in that section");
    return readme.substring(start + 8, end);
  }

  @Test
  void readmeExampleCompilesAndRunsOnTheBundledModel(@TempDir Path tmp) throws Exception {
    Path src = tmp.resolve("Example.java");
    Files.writeString(src, example());
    // Compiled and run as a plain class-path application, as a user's would be.
    String cp = DeterminismTest.classPath();
    Path bin = Path.of(System.getProperty("java.home"), "bin");
    Process javac = new ProcessBuilder(bin.resolve("javac").toString(), "-d", tmp.toString(), "-classpath", cp,
        src.toString()).redirectErrorStream(true).start();
    String errors = new String(javac.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(javac.waitFor(120, TimeUnit.SECONDS), "javac timed out");
    assertEquals(0, javac.exitValue(), "README example does not compile:\n" + errors);

    List<String> cmd = new ArrayList<>();
    cmd.add(bin.resolve("java").toString());
    cmd.add("-cp");
    cmd.add(tmp + java.io.File.pathSeparator + cp);
    cmd.add("-Djava.awt.headless=true");
    cmd.add("-Dai.djl.offline=true");
    cmd.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=error");
    cmd.add("Example");
    Process p = new ProcessBuilder(cmd).directory(ROOT.toFile()).redirectErrorStream(true).start();
    String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertTrue(p.waitFor(300, TimeUnit.SECONDS), "example timed out");
    assertEquals(0, p.exitValue(), text);
    String[] last = text.lines().reduce((a, b) -> b).orElse("").split(" ");
    Path out = Path.of(last[0]);
    try {
      // What it wrote is what the library gives for the same input, read independently here.
      TacoFile file = TacoFile.read(out.resolve("kodim23.taco"));
      assertEquals(file.byteCount(), Long.parseLong(last[1]));
      HostTensor in = Images.read(ROOT.resolve("models/demo/kodim23.png"));
      HostTensor decoded = Images.read(out.resolve("kodim23.decoded.png"));
      assertEquals(in.shape()[2], file.height());
      assertEquals(in.shape()[3], file.width());
      try (TacoCodec codec =
          TacoCodec.builder().setWeights(ROOT.resolve("models/demo/taco-tiny-demo.safetensors")).build()) {
        float[] expected = codec.decompress(file).toFloatArray();
        float[] got = decoded.toFloatArray();
        assertEquals(expected.length, got.length);
        for (int i = 0; i < got.length; i++) {
          assertEquals(Math.rint(expected[i] * 255f) / 255f, got[i], 1e-6, "sample " + i);
        }
      }
    } finally {
      try (var files = Files.list(out)) {
        for (Path f : files.toList()) {
          Files.delete(f);
        }
      }
      Files.delete(out);
    }
  }
}
