package ai.taco.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.clip.ClipFiles;
import ai.taco.core.clip.ClipTextModel;
import ai.taco.core.clip.ClipTokenizer;
import ai.taco.core.error.ClipException;
import ai.taco.core.tensor.HostTensor;
import java.nio.file.Path;
import java.util.List;

/**
 * Caption to CLIP {@code last_hidden_state}, the text input of TACO's encoder: the HF tokenizer padded to 38 tokens
 * plus the frozen CLIP text tower. Load once and reuse (loading ViT-B/32 takes about a second; encoding a caption a
 * few milliseconds, see docs/performance.md).
 *
 * <p>Thread-safe: calls are serialised on the model (libtorch already uses every core for one caption). Close it to
 * free the native weights and tokenizer.
 */
public final class ClipTextEncoder implements CaptionEncoder {

  /** Captions per forward pass when encoding many (bounds native memory for long caption files). */
  private static final int CHUNK = 64;

  private final ClipTokenizer tokenizer;
  private final ClipTextModel model;
  private final String source;

  private ClipTextEncoder(ClipTokenizer tokenizer, ClipTextModel model, String source) {
    this.tokenizer = tokenizer;
    this.model = model;
    this.source = source;
  }

  /**
   * Loads from a HuggingFace CLIP directory holding {@code config.json}, {@code model.safetensors} (or {@code
   * pytorch_model.bin}) and {@code tokenizer.json}, e.g. openai/clip-vit-base-patch32.
   *
   * @throws ClipException naming every missing file (and pointing to docs/weights.md)
   */
  public static ClipTextEncoder load(Path dir) {
    ClipFiles.requireFiles(dir, true);
    ClipTextModel model = ClipTextModel.load(dir);
    try {
      return new ClipTextEncoder(ClipTokenizer.load(dir.resolve(ClipFiles.TOKENIZER)), model,
          "CLIP text encoder " + dir);
    } catch (RuntimeException e) {
      model.close();
      throw e;
    }
  }

  /** Loads from {@link ClipFiles#resolveDirectory}: {@code $TACO_CLIP_DIR}, else models/clip-vit-base-patch32. */
  public static ClipTextEncoder loadDefault() {
    return load(ClipFiles.resolveDirectory(null));
  }

  /** {@code CLIP text encoder <directory>}. */
  @Override
  public String source() {
    return source;
  }

  /** Width of one token's embedding (512 for ViT-B/32). */
  @Override
  public int width() {
    return model.width();
  }

  /** Tokens per caption (38, TACO's max_length). */
  public int sequenceLength() {
    return tokenizer.maxLength();
  }

  /** The tokenizer (for callers that also need ids, e.g. the training loss). */
  public ClipTokenizer tokenizer() {
    return tokenizer;
  }

  /**
   * Encodes one caption.
   *
   * @return {@code [1, 38, width]} last_hidden_state, row-major
   * @throws InvalidCaptionException if the caption is not valid Unicode
   */
  public float[] encode(String caption) {
    try (NDManager m = model.newSubManager()) {
      return encode(m, caption).toFloatArray();
    }
  }

  /**
   * Encodes one caption as a host tensor {@code [1, 38, width]} float32, the caption features {@code
   * TacoCodec.compress(image, text)} takes.
   */
  @Override
  public HostTensor encodeTensor(String caption) {
    return HostTensor.ofFloats(encode(caption), 1, sequenceLength(), width());
  }

  /** Encodes one caption into {@code [1, 38, width]} on {@code manager}. */
  public NDArray encode(NDManager manager, String caption) {
    return encode(manager, List.of(caption));
  }

  /** Encodes captions into {@code [n, 38, width]} on {@code manager}. */
  @Override
  public NDArray encode(NDManager manager, List<String> captions) {
    if (captions.isEmpty()) {
      throw new ClipException("no captions to encode");
    }
    NDList parts = new NDList();
    try (NDManager tmp = manager.newSubManager()) {
      for (int i = 0; i < captions.size(); i += CHUNK) {
        ClipTokenizer.Tokens t = tokenizer.encode(captions.subList(i, Math.min(captions.size(), i + CHUNK)));
        parts.add(forward(tmp, t));
      }
      NDArray all = parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts, 0);
      all.attach(manager);
      return all;
    }
  }

  private synchronized NDArray forward(NDManager m, ClipTokenizer.Tokens t) {
    ClipTextModel.Output o = model.forward(m, t);
    NDArray last = o.lastHiddenState();
    for (NDArray a : new NDArray[] {o.poolerOutput(), o.textEmbeds()}) {
      if (a != null) {
        a.close();
      }
    }
    Shape s = last.getShape();
    if (s.get(1) != tokenizer.maxLength() || s.get(2) != model.width()) {
      throw new IllegalStateException("unexpected last_hidden_state shape " + s);
    }
    return last;
  }

  @Override
  public void close() {
    try {
      tokenizer.close();
    } finally {
      model.close();
    }
  }
}
