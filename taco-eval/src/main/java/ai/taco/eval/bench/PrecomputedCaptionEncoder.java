package ai.taco.eval.bench;

import ai.djl.ndarray.types.DataType;
import ai.taco.core.io.HostTensor;
import ai.taco.core.io.SafeTensors;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * Text embeddings computed elsewhere (e.g. by HuggingFace CLIPTextModel on a machine that has the weights) and stored
 * in one safetensors file: one F32 tensor per image, named by the image's file name, shape [1,38,512] or [38,512]
 * (CLIP's last_hidden_state for the caption tokenized with padding to 38). The empty-caption ablation reads the
 * tensor named {@value #EMPTY_KEY} instead.
 */
final class PrecomputedCaptionEncoder implements CaptionEncoder {

  /** Tensor name holding the embedding of the empty caption "". */
  static final String EMPTY_KEY = "<empty>";

  private final Path file;
  private final Map<String, HostTensor> tensors;

  PrecomputedCaptionEncoder(Path file) {
    this.file = file;
    this.tensors = SafeTensors.read(file).tensors();
    if (tensors.isEmpty()) {
      throw new BenchmarkException(file + " holds no tensors");
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
  public TextEmbedding encode(String imageName, String caption) {
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
    return new TextEmbedding(t.toFloatArray(), TOKENS, WIDTH, "precomputed:" + key);
  }
}
