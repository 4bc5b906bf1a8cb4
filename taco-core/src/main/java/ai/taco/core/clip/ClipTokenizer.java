package ai.taco.core.clip;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.error.ClipException;
import ai.taco.core.error.InvalidCaptionException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * CLIP's BPE tokenizer as TACO calls it: {@code tokenizer(text, padding="max_length", max_length=38,
 * truncation=True)} with a HuggingFace fast tokenizer.
 *
 * <p>The Rust tokenizer (through DJL) does the normalisation, BPE and BOS/EOS template from {@code tokenizer.json}.
 * Padding is done here, because the hub's {@code tokenizer.json} stores no padding section and DJL would then pad
 * with id 0, while transformers pads CLIP with {@code <|endoftext|>} (49407). Result: {@code [BOS] + BPE(text)[:L-2] +
 * [EOS]} right-padded with the pad id; the mask is 1 on BOS, content and EOS and 0 on pads.
 *
 * <p>Thread-safe; holds a native tokenizer, so close it.
 */
public final class ClipTokenizer implements AutoCloseable {

  /** TACO's caption length: {@code max_length=38} in its tokenizer calls (effl-lab/TACO train/eval scripts). */
  public static final int TACO_MAX_LENGTH = 38;

  /** transformers CLIPTokenizer's pad token (pad = eos = unk = {@code <|endoftext|>}). */
  static final String PAD_TOKEN = "<|endoftext|>";

  /**
   * Token ids and attention masks of a batch, row-major {@code [batchSize, length]}.
   *
   * @param inputIds {@code batchSize * length} token ids
   * @param attentionMask {@code batchSize * length} values, 1 for BOS/content/EOS and 0 for padding
   */
  public record Tokens(int batchSize, int length, long[] inputIds, long[] attentionMask) {

    /** Row {@code i}'s ids. */
    public long[] ids(int i) {
      return java.util.Arrays.copyOfRange(inputIds, i * length, (i + 1) * length);
    }

    /** Row {@code i}'s mask. */
    public long[] mask(int i) {
      return java.util.Arrays.copyOfRange(attentionMask, i * length, (i + 1) * length);
    }

    /** The ids as an INT64 {@code [batchSize, length]} array on {@code manager}. */
    public NDArray inputIds(NDManager manager) {
      return manager.create(inputIds, new Shape(batchSize, length));
    }

    /** The mask as an INT64 {@code [batchSize, length]} array on {@code manager}. */
    public NDArray attentionMask(NDManager manager) {
      return manager.create(attentionMask, new Shape(batchSize, length));
    }
  }

  private final HuggingFaceTokenizer tokenizer;
  private final int maxLength;
  private final long padId;

  private ClipTokenizer(HuggingFaceTokenizer tokenizer, int maxLength, long padId) {
    this.tokenizer = tokenizer;
    this.maxLength = maxLength;
    this.padId = padId;
  }

  /** Loads {@code tokenizer.json} (or a directory holding it) with TACO's length, 38. */
  public static ClipTokenizer load(Path tokenizerJson) {
    return load(tokenizerJson, TACO_MAX_LENGTH);
  }

  /** Loads {@code tokenizer.json} (or a directory holding it); every caption becomes {@code maxLength} tokens. */
  public static ClipTokenizer load(Path tokenizerJson, int maxLength) {
    if (maxLength < 2) {
      throw new IllegalArgumentException("maxLength must hold at least BOS and EOS, got " + maxLength);
    }
    Path file = Files.isDirectory(tokenizerJson) ? tokenizerJson.resolve("tokenizer.json") : tokenizerJson;
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new ClipException("CLIP tokenizer not found: " + file);
    } catch (IOException e) {
      throw new ClipException("cannot read CLIP tokenizer " + file + ": " + e.getMessage(), e);
    }
    long padId = padIdOf(file, bytes);
    // max_length padding + truncation as in TACO's call; the template (BOS/EOS) stays inside maxLength.
    Map<String, String> options =
        Map.of("padding", "max_length", "maxLength", Integer.toString(maxLength), "truncation", "true");
    HuggingFaceTokenizer hf;
    try {
      hf = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(bytes), options);
    } catch (IOException | RuntimeException e) {
      throw new ClipException("cannot load CLIP tokenizer " + file + ": " + e.getMessage(), e);
    }
    return new ClipTokenizer(hf, maxLength, padId);
  }

  /** Tokens per caption. */
  public int maxLength() {
    return maxLength;
  }

  /** The id written at padded positions (49407 for CLIP). */
  public long padId() {
    return padId;
  }

  /** Tokenizes one caption. Empty and over-long captions are fine (long ones are truncated, EOS kept). */
  public Tokens encode(String caption) {
    return encode(List.of(caption));
  }

  /** Tokenizes a batch of captions into {@code [n, maxLength]}. */
  public Tokens encode(List<String> captions) {
    int n = captions.size();
    for (int i = 0; i < n; i++) {
      requireValidText(captions.get(i), n == 1 ? "caption" : "caption " + (i + 1));
    }
    long[] ids = new long[n * maxLength];
    long[] mask = new long[n * maxLength];
    Encoding[] encodings =
        n == 1
            ? new Encoding[] {tokenizer.encode(captions.get(0))}
            : tokenizer.batchEncode(captions.toArray(new String[0]));
    for (int i = 0; i < n; i++) {
      long[] e = encodings[i].getIds();
      long[] m = encodings[i].getAttentionMask();
      // Keep the real tokens in order and pad on the right with the CLIP pad id, whatever the file's padding says.
      int k = 0;
      for (int j = 0; j < e.length; j++) {
        if (m[j] != 0) {
          if (k == maxLength) {
            throw new ClipException("tokenizer produced more than " + maxLength + " tokens despite truncation");
          }
          ids[i * maxLength + k] = e[j];
          mask[i * maxLength + k] = 1;
          k++;
        }
      }
      for (; k < maxLength; k++) {
        ids[i * maxLength + k] = padId;
      }
    }
    return new Tokens(n, maxLength, ids, mask);
  }

  /**
   * Decodes caption bytes as strict UTF-8.
   *
   * @throws InvalidCaptionException if the bytes are not valid UTF-8
   */
  public static String decodeUtf8(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      throw new InvalidCaptionException("caption is not valid UTF-8 text (" + e.getMessage() + ")");
    }
  }

  /**
   * Reads a caption file: strict UTF-8, one caption per line ({@code \n} or {@code \r\n}); a final newline does not
   * start another caption, an empty line is an empty caption, and a leading byte-order mark is dropped.
   *
   * @throws InvalidCaptionException if the file is not valid UTF-8
   */
  public static List<String> readCaptions(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new ClipException("caption file not found: " + file);
    } catch (IOException e) {
      throw new ClipException("cannot read caption file " + file + ": " + e.getMessage(), e);
    }
    String text;
    try {
      text = decodeUtf8(bytes);
    } catch (InvalidCaptionException e) {
      throw new InvalidCaptionException(file + ": " + e.getMessage());
    }
    if (text.startsWith("\uFEFF")) {
      text = text.substring(1);
    }
    List<String> lines = new ArrayList<>(List.of(text.split("\r?\n", -1)));
    if (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) {
      lines.remove(lines.size() - 1);
    }
    return lines;
  }

  /**
   * Refuses a String that is not well-formed Unicode (an unpaired surrogate cannot be encoded to UTF-8).
   *
   * @throws InvalidCaptionException naming the offending position
   */
  static void requireValidText(String caption, String what) {
    if (caption == null) {
      throw new InvalidCaptionException(what + " is null");
    }
    for (int i = 0; i < caption.length(); i++) {
      char c = caption.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 < caption.length() && Character.isLowSurrogate(caption.charAt(i + 1))) {
          i++;
          continue;
        }
        throw new InvalidCaptionException(
            what + " is not valid Unicode: unpaired high surrogate U+" + hex(c) + " at index " + i);
      }
      if (Character.isLowSurrogate(c)) {
        throw new InvalidCaptionException(
            what + " is not valid Unicode: unpaired low surrogate U+" + hex(c) + " at index " + i);
      }
    }
  }

  private static String hex(char c) {
    return String.format("%04X", (int) c);
  }

  /** The pad id: the file's own padding section if it has one, else the id of {@code <|endoftext|>}. */
  private static long padIdOf(Path file, byte[] bytes) {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(bytes);
    } catch (IOException e) {
      throw new ClipException(file + " is not a valid tokenizer.json: " + e.getMessage(), e);
    }
    if (root == null || !root.isObject() || !root.path("model").isObject()) {
      throw new ClipException(file + " is not a HuggingFace tokenizer.json (no \"model\" section)");
    }
    if (root.path("post_processor").isNull() || root.path("post_processor").isMissingNode()) {
      throw new ClipException(
          file + " has no post_processor, so it would not add <|startoftext|>/<|endoftext|>: not a CLIP tokenizer");
    }
    JsonNode padding = root.path("padding");
    if (padding.isObject() && padding.path("pad_id").canConvertToLong()) {
      return padding.path("pad_id").longValue();
    }
    for (JsonNode t : root.path("added_tokens")) {
      if (PAD_TOKEN.equals(t.path("content").asText())) {
        return t.path("id").longValue();
      }
    }
    JsonNode v = root.path("model").path("vocab").path(PAD_TOKEN);
    if (v.canConvertToLong()) {
      return v.longValue();
    }
    throw new ClipException(file + " has no " + PAD_TOKEN + " token: not a CLIP tokenizer");
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
