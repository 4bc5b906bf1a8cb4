package ai.taco.core.clip;

import ai.taco.core.error.ClipException;
import ai.taco.core.error.InvalidCaptionException;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.testing.Golden;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Tokenizer parity with transformers' fast CLIP tokenizer (golden tokens.json, 41 captions). */
class ClipTokenizerTest {

  @ParameterizedTest
  @ValueSource(strings = {"clip/tokenizer.json", "clip/tokenizer-pad38.json"})
  void matchesHuggingFaceOnAllGoldenCaptions(String file) {
    JsonNode golden = Golden.json("clip/tokens.json");
    JsonNode captions = golden.get("captions");
    assertEquals(41, captions.size());
    List<String> texts = new ArrayList<>();
    captions.forEach(c -> texts.add(c.get("text").asText()));
    try (ClipTokenizer tok = ClipTokenizer.load(Golden.golden(file))) {
      assertEquals(49407, tok.padId());
      ClipTokenizer.Tokens batch = tok.encode(texts);
      for (int i = 0; i < captions.size(); i++) {
        JsonNode c = captions.get(i);
        long[] ids = longs(c.get("input_ids"));
        long[] mask = longs(c.get("attention_mask"));
        String name = c.get("name").asText();
        assertArrayEquals(ids, batch.ids(i), "batch ids of " + name);
        assertArrayEquals(mask, batch.mask(i), "batch mask of " + name);
        ClipTokenizer.Tokens one = tok.encode(texts.get(i));
        assertArrayEquals(ids, one.inputIds(), "ids of " + name);
        assertArrayEquals(mask, one.attentionMask(), "mask of " + name);
      }
    }
  }

  @Test
  void emptyAndLongCaptionsAreNormal() {
    try (ClipTokenizer tok = ClipTokenizer.load(Golden.golden("clip/tokenizer.json"))) {
      ClipTokenizer.Tokens empty = tok.encode("");
      assertEquals(49406, empty.inputIds()[0]);
      assertEquals(49407, empty.inputIds()[1]);
      assertEquals(1, empty.attentionMask()[1]);
      assertEquals(0, empty.attentionMask()[2]);
      ClipTokenizer.Tokens huge = tok.encode("word ".repeat(20_000));
      assertEquals(38, huge.inputIds().length);
      assertEquals(49407, huge.inputIds()[37], "EOS is kept at the end when truncating");
      assertEquals(1, huge.attentionMask()[37]);
    }
  }

  @Test
  void controlCharactersAndNulDoNotBreakTheNativeTokenizer() {
    try (ClipTokenizer tok = ClipTokenizer.load(Golden.golden("clip/tokenizer.json"))) {
      long[] plain = tok.encode("a cat").inputIds();
      long[] nul = tok.encode("a\u0000cat").inputIds();
      System.out.println("[tok] NUL caption ids " + java.util.Arrays.toString(java.util.Arrays.copyOf(nul, 6)));
      assertEquals(49406, nul[0]);
      assertEquals(38, nul.length);
      assertEquals(38, plain.length);
    }
  }

  @Test
  void unpairedSurrogatesAreRefused() {
    try (ClipTokenizer tok = ClipTokenizer.load(Golden.golden("clip/tokenizer.json"))) {
      InvalidCaptionException e =
          assertThrows(InvalidCaptionException.class, () -> tok.encode("a cat \uD83D sitting"));
      assertTrue(e.getMessage().contains("surrogate"), e.getMessage());
      assertThrows(InvalidCaptionException.class, () -> tok.encode(List.of("fine", "bad \uDC00")));
    }
  }

  @Test
  void invalidUtf8BytesAreRefused(@TempDir Path dir) throws IOException {
    assertThrows(InvalidCaptionException.class, () -> ClipTokenizer.decodeUtf8(new byte[] {'a', (byte) 0xC3}));
    assertThrows(InvalidCaptionException.class, () -> ClipTokenizer.decodeUtf8(new byte[] {(byte) 0xFF, 'b'}));
    // CESU-8 style encoded surrogate is not UTF-8 either.
    assertThrows(
        InvalidCaptionException.class,
        () -> ClipTokenizer.decodeUtf8(new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}));
    assertEquals("café 猫", ClipTokenizer.decodeUtf8("café 猫".getBytes(StandardCharsets.UTF_8)));

    Path bad = dir.resolve("bad.txt");
    Files.write(bad, new byte[] {'o', 'k', '\n', (byte) 0xC0, (byte) 0xAF, '\n'});
    InvalidCaptionException e = assertThrows(InvalidCaptionException.class, () -> ClipTokenizer.readCaptions(bad));
    assertTrue(e.getMessage().contains("bad.txt"), e.getMessage());

    Path good = dir.resolve("good.txt");
    Files.writeString(good, "\uFEFFfirst\r\n\nthird ünïcødé\n", StandardCharsets.UTF_8);
    assertEquals(List.of("first", "", "third ünïcødé"), ClipTokenizer.readCaptions(good));
  }

  @Test
  void nonTokenizerJsonIsRefused(@TempDir Path dir) throws IOException {
    Path f = dir.resolve("tokenizer.json");
    Files.writeString(f, "{\"hello\": 1}");
    assertThrows(ClipException.class, () -> ClipTokenizer.load(f));
    assertThrows(ClipException.class, () -> ClipTokenizer.load(dir.resolve("missing.json")));
  }

  private static long[] longs(JsonNode a) {
    long[] r = new long[a.size()];
    for (int i = 0; i < r.length; i++) {
      r[i] = a.get(i).asLong();
    }
    return r;
  }
}
