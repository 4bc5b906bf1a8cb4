package ai.taco.cli;

import ai.taco.core.clip.ClipTokenizer;
import ai.taco.core.error.InvalidCaptionException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Text given on the command line. The JVM decodes argv before our code runs: bytes that are not valid UTF-8, and
 * every non-ASCII character under a non-UTF-8 locale (e.g. {@code LANG=C}), silently become U+FFFD. A caption holding
 * U+FFFD is therefore checked against the raw bytes (Linux {@code /proc/self/cmdline}) and refused if they were not
 * valid UTF-8; a genuine U+FFFD typed in a UTF-8 terminal passes.
 */
final class CommandLineText {
  private static final char REPLACEMENT = '\uFFFD';
  private static final Path RAW_ARGS = Path.of("/proc/self/cmdline");

  private CommandLineText() {}

  /** {@code value} if it is what the user typed, else an {@link InvalidCaptionException} naming {@code option}. */
  static String caption(String option, String value) {
    if (value == null || value.indexOf(REPLACEMENT) < 0) {
      return value;
    }
    return caption(option, value, System.getProperty("sun.jnu.encoding"), rawArguments());
  }

  static String caption(String option, String value, String argEncoding, List<byte[]> rawArgs) {
    if (value.indexOf(REPLACEMENT) < 0) {
      return value;
    }
    if (argEncoding != null && !argEncoding.equalsIgnoreCase("UTF-8") && !argEncoding.equalsIgnoreCase("UTF8")) {
      throw new InvalidCaptionException(
          option
              + ": the JVM decoded the command line as "
              + argEncoding
              + ", which lost the caption's non-ASCII characters; run under a UTF-8 locale (e.g. LANG=C.UTF-8) or"
              + " pass the caption in a UTF-8 file (--captions)");
    }
    for (byte[] raw : rawArgs) {
      if (new String(raw, StandardCharsets.UTF_8).equals(value)) {
        try {
          ClipTokenizer.decodeUtf8(raw);
          return value; // the user really typed U+FFFD
        } catch (InvalidCaptionException e) {
          throw new InvalidCaptionException(
              option + " is not valid UTF-8 text (its command-line bytes do not decode; check the terminal's encoding)");
        }
      }
    }
    return value;
  }

  private static List<byte[]> rawArguments() {
    List<byte[]> out = new ArrayList<>();
    byte[] all;
    try {
      all = Files.readAllBytes(RAW_ARGS);
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return out; // not Linux: nothing more to check
    }
    int start = 0;
    for (int i = 0; i <= all.length; i++) {
      if (i == all.length || all[i] == 0) {
        if (i > start) {
          out.add(java.util.Arrays.copyOfRange(all, start, i));
        }
        start = i + 1;
      }
    }
    return out;
  }
}
