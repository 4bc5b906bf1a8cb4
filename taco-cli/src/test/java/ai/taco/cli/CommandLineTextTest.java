package ai.taco.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.error.InvalidCaptionException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class CommandLineTextTest {
  @Test
  void plainCaptionsPassUntouched() {
    assertEquals("café 猫", CommandLineText.caption("--caption", "café 猫"));
    assertEquals("", CommandLineText.caption("--caption", ""));
  }

  @Test
  void invalidRawBytesAreRefused() {
    byte[] raw = {'a', (byte) 0xFF, 'b'};
    String decoded = new String(raw, StandardCharsets.UTF_8); // what the JVM hands us: "a\uFFFDb"
    InvalidCaptionException e =
        assertThrows(
            InvalidCaptionException.class,
            () -> CommandLineText.caption("--caption", decoded, "UTF-8", List.of("java".getBytes(), raw)));
    assertTrue(e.getMessage().contains("not valid UTF-8"), e.getMessage());
  }

  @Test
  void genuineReplacementCharacterPasses() {
    String typed = "caf\uFFFD";
    byte[] raw = typed.getBytes(StandardCharsets.UTF_8);
    assertEquals(typed, CommandLineText.caption("--caption", typed, "UTF-8", List.of(raw)));
  }

  @Test
  void nonUtf8LocaleIsExplained() {
    InvalidCaptionException e =
        assertThrows(
            InvalidCaptionException.class,
            () -> CommandLineText.caption("--caption", "caf\uFFFD\uFFFD", "ANSI_X3.4-1968", List.of()));
    assertTrue(e.getMessage().contains("LANG=C.UTF-8"), e.getMessage());
  }
}
