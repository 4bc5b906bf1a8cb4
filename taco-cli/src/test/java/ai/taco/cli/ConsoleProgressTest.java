package ai.taco.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConsoleProgressTest {

  @Test
  void redirectedStderrIsNotATerminal() {
    // Surefire runs the tests with stderr on a pipe: exactly the redirected case.
    assertFalse(ConsoleProgress.stderrIsTerminal());
  }

  @Test
  void withoutATerminalPlainLinesOnlyAndNothingOnStderr() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    List<String> lines = new ArrayList<>();
    try (ConsoleProgress p = new ConsoleProgress("train", 5, 1, "steps", false,
        new PrintStream(err, true, StandardCharsets.UTF_8), lines::add, Duration.ZERO)) {
      for (int i = 0; i < 4; i++) {
        p.setExtraMessage(" | loss " + i);
        p.step();
      }
    }
    assertEquals(0, err.size(), "the bar must not draw");
    assertEquals(4, lines.size(), "one line per step with a zero interval, none repeated at close: " + lines);
    assertTrue(lines.get(3).startsWith("train: 5/5 steps (100%)"), lines.get(3));
    assertTrue(lines.get(3).endsWith(" | loss 3"), lines.get(3));
    for (String l : lines) {
      assertFalse(l.contains("\u001b") || l.contains("\r") || l.contains("\n"), "plain line: " + l);
    }
  }

  @Test
  void linesAreSpacedByTheInterval() {
    List<String> lines = new ArrayList<>();
    try (ConsoleProgress p = new ConsoleProgress("eval", 1000, 0, "images", false, System.err, lines::add,
        Duration.ofHours(1))) {
      for (int i = 0; i < 1000; i++) {
        p.step();
      }
    }
    assertEquals(1, lines.size(), "only the closing line within the interval: " + lines);
    assertTrue(lines.get(0).startsWith("eval: 1000/1000 images (100%)"), lines.get(0));
  }

  @Test
  void onATerminalTheBarDraws() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    List<String> lines = new ArrayList<>();
    try (ConsoleProgress p = new ConsoleProgress("train", 3, 0, "steps", true,
        new PrintStream(err, true, StandardCharsets.UTF_8), lines::add, Duration.ZERO)) {
      p.step();
    }
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("train"), "bar drawn");
    assertTrue(lines.isEmpty());
  }
}
