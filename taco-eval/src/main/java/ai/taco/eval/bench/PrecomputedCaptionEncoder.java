package ai.taco.eval.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.CaptionEncoder;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.SafeTensors;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Text embeddings computed elsewhere (on a machine that has the CLIP weights) and stored in one safetensors file, in
 * either of two layouts:
 *
 * <ul>
 *   <li>by caption: the output of {@code taco embed-text --captions FILE}: one F32 tensor {@value #BY_CAPTION_TENSOR}
 *       of shape [n,38,512] whose metadata {@code captions} is the JSON list of the n captions; an image's embedding
 *       is the row of its caption (the empty caption "" needs a row for "" too);
 *   <li>by image: one F32 tensor per image named by its file name, [1,38,512] or [38,512] (CLIP's last_hidden_state
 *       of its caption padded to 38 tokens); the empty-caption ablation reads the tensor named {@value #EMPTY_KEY}.
 * </ul>
 */
final class PrecomputedCaptionEncoder implements CaptionEncoder {

  /** Tensor name holding the embedding of the empty caption "" in the by-image layout. */
  static final String EMPTY_KEY = "<empty>";

  /** Tensor and metadata names written by {@code taco embed-text}. */
  static final String BY_CAPTION_TENSOR = "last_hidden_state";

  static final String CAPTIONS_METADATA = "captions";

  /** Width of the stored features (CLIP ViT-B/32). */
  static final int WIDTH = TacoCodecs.TEXT_WIDTH;

  private static final int ROW = TOKENS * WIDTH;

  private final Path file;
  private final Map<String, HostTensor> tensors;
  /** Caption → row of {@link #BY_CAPTION_TENSOR}; null in the by-image layout. */
  private final Map<String, Integer> rows;
  private final float[] table;

  PrecomputedCaptionEncoder(Path file) {
    this.file = file;
    SafeTensors.Contents c = SafeTensors.read(file);
    this.tensors = c.tensors();
    if (tensors.isEmpty()) {
      throw new BenchmarkException(file + " holds no tensors");
    }
    String captions = c.metadata().get(CAPTIONS_METADATA);
    HostTensor byCaption = tensors.get(BY_CAPTION_TENSOR);
    if (byCaption != null && captions != null) {
      JsonNode list;
      try {
        list = new ObjectMapper().readTree(captions);
      } catch (IOException e) {
        throw new BenchmarkException(file + ": metadata 'captions' is not a JSON list", e);
      }
      long[] s = byCaption.shape();
      if (!list.isArray() || s.length != 3 || s[0] != list.size() || s[1] != TOKENS || s[2] != WIDTH
          || byCaption.dataType() != DataType.FLOAT32) {
        throw new BenchmarkException(file + ": '" + BY_CAPTION_TENSOR + "' must be F32 [" + list.size() + ","
            + TOKENS + "," + WIDTH + "] for " + list.size() + " captions, got " + byCaption.dataType()
            + Arrays.toString(s));
      }
      rows = new HashMap<>();
      for (int i = 0; i < list.size(); i++) {
        rows.putIfAbsent(list.get(i).asText(), i);
      }
      table = byCaption.toFloatArray();
    } else {
      rows = null;
      table = null;
    }
  }

  @Override
  public String source() {
    return "precomputed CLIP text embeddings from " + file.getFileName();
  }

  @Override
  public boolean usesCaptions() {
    return true;
  }

  @Override
  public int width() {
    return WIDTH;
  }

  /** The caption's features: by-caption files only (a by-image file needs the image name, see below). */
  @Override
  public HostTensor encodeTensor(String caption) {
    if (rows == null) {
      throw new BenchmarkException(file + " stores embeddings per image: they are looked up by image name");
    }
    return encodeTensor("", caption);
  }

  @Override
  public NDArray encode(NDManager manager, List<String> captions) {
    float[] out = new float[captions.size() * ROW];
    for (int i = 0; i < captions.size(); i++) {
      System.arraycopy(encodeTensor(captions.get(i)).toFloatArray(), 0, out, i * ROW, ROW);
    }
    return manager.create(out, new Shape(captions.size(), TOKENS, WIDTH));
  }

  @Override
  public HostTensor encodeTensor(String imageName, String caption) {
    if (rows != null) {
      Integer row = rows.get(caption);
      if (row == null) {
        throw new BenchmarkException(file + " has no embedding for the caption \"" + caption + "\" (of "
            + imageName + ")");
      }
      return HostTensor.ofFloats(Arrays.copyOfRange(table, row * ROW, (row + 1) * ROW), 1, TOKENS, WIDTH);
    }
    String key = caption.isEmpty() ? EMPTY_KEY : imageName;
    HostTensor t = tensors.get(key);
    if (t == null) {
      throw new BenchmarkException(file + " has no text embedding named '" + key + "'"
          + (caption.isEmpty() ? " (needed for the empty-caption ablation)" : ""));
    }
    long[] s = t.shape();
    boolean ok = (s.length == 3 && s[0] == 1 && s[1] == TOKENS && s[2] == WIDTH)
        || (s.length == 2 && s[0] == TOKENS && s[1] == WIDTH);
    if (!ok || t.dataType() != DataType.FLOAT32) {
      throw new BenchmarkException(file + ": '" + key + "' must be F32 [1," + TOKENS + "," + WIDTH + "], got "
          + t.dataType() + Arrays.toString(s));
    }
    return HostTensor.ofFloats(t.toFloatArray(), 1, TOKENS, WIDTH);
  }
}
