package ai.taco.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The launcher script (scripts/taco) refuses an allocator setting it does not know before anything starts. */
class LauncherTest {
  private static final Path LAUNCHER = Path.of("..", "scripts", "taco").toAbsolutePath().normalize();

  @Test
  void unknownAllocatorIsRefusedWithItsName() throws IOException, InterruptedException {
    assertTrue(Files.isRegularFile(LAUNCHER), LAUNCHER.toString());
    ProcessBuilder pb = new ProcessBuilder("bash", LAUNCHER.toString(), "--version");
    pb.environment().put("TACO_MALLOC", "jemalloc");
    Process p = pb.start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the launcher answered");
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(2, p.exitValue(), err);
    assertTrue(err.contains("TACO_MALLOC") && err.contains("'jemalloc'") && err.contains("glibc"), err);
  }
}
