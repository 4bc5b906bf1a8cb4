package ai.taco.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Same input → byte-identical file and decoded image across runs and across 1 vs 2 libtorch intra-op threads. The
 * thread count is read once when the engine starts, so each setting runs {@link DeterminismProbe} in its own JVM.
 */
class DeterminismTest {

  @Test
  void smallModelIdenticalAcrossRunsAndThreadCounts() throws Exception {
    String inProcess = DeterminismProbe.run("small");
    assertEquals(inProcess, DeterminismProbe.run("small"), "two runs in one JVM");
    compareForks("small", inProcess);
  }

  /**
   * The full preset's widths take other kernel paths (blocking, 4-phase transposed convs, oneDNN's 1×1 kernels for gA's
   * and gS's pointwise layers, nn.Pointwise) than the small one.
   */
  @Test
  void fullSizeModelIdenticalAcrossThreadCounts() throws Exception {
    compareForks("full", DeterminismProbe.run("full"));
  }

  private static void compareForks(String preset, String inProcess) throws IOException, InterruptedException {
    String one = fork(preset, 1);
    String two = fork(preset, 2);
    System.out.println(
        "[DeterminismTest] " + preset + " in-process " + inProcess + "\n  1 thread  " + one + "\n  2 threads " + two);
    assertEquals(one, two, preset + ": 1 vs 2 intra-op threads");
    assertEquals(inProcess, two, preset + ": forked JVM vs this one");
  }

  /**
   * Everything the tests see, whether Surefire put it on the module path (taco-core is a module) or the class path,
   * as one class path for a forked JVM.
   */
  static String classPath() {
    String mp = System.getProperty("jdk.module.path", "");
    String cp = System.getProperty("java.class.path", "");
    return mp.isEmpty() ? cp : cp.isEmpty() ? mp : mp + java.io.File.pathSeparator + cp;
  }

  private static String fork(String preset, int threads) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-cp");
    cmd.add(classPath());
    cmd.add("-Djava.awt.headless=true");
    cmd.add("-Dai.djl.offline=true");
    cmd.add("-Dai.djl.pytorch.num_threads=" + threads);
    cmd.add("-Dai.djl.pytorch.num_interop_threads=1");
    cmd.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=error");
    for (String p : new String[] {"taco.golden", "taco.data"}) {
      if (System.getProperty(p) != null) {
        cmd.add("-D" + p + "=" + System.getProperty(p));
      }
    }
    cmd.add(DeterminismProbe.class.getName());
    cmd.add(preset);
    Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out = proc.getInputStream().readAllBytes();
    assertTrue(proc.waitFor(120, TimeUnit.SECONDS), "probe JVM timed out");
    String text = new String(out, StandardCharsets.UTF_8).trim();
    assertEquals(0, proc.exitValue(), text);
    String[] lines = text.split("\n");
    String last = lines[lines.length - 1];
    assertTrue(last.startsWith("file="), text);

    return last;
  }
}
