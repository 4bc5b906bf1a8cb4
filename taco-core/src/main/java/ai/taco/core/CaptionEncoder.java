package ai.taco.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.tensor.HostTensor;
import java.util.List;

/**
 * Turns captions into the text features TACO's encoder reads: CLIP's text {@code last_hidden_state} padded to {@link
 * #TOKENS} tokens, {@code [n, 38, width]} (official train.py and evaluation). Implemented by {@link
 * ai.taco.core.ClipTextEncoder}; the evaluation adds features precomputed elsewhere, and {@link #zeros} stands in
 * when no CLIP weights are at hand. Features carry no gradient.
 */
public interface CaptionEncoder extends AutoCloseable {

  /** Token count of the official tokenizer call ({@code padding='max_length', max_length=38}). */
  int TOKENS = 38;

  /** Where the features come from, for logs and results (e.g. {@code CLIP text encoder clip-vit-base-patch32}). */
  String source();

  /** False when captions do not influence the features (e.g. {@link #zeros}). */
  default boolean usesCaptions() {
    return true;
  }

  /** Width of one token's features (512 for CLIP ViT-B/32). */
  int width();

  /** Features of the captions, {@code [captions.size(), TOKENS, width]} on {@code manager}. */
  NDArray encode(NDManager manager, List<String> captions);

  /** Features of one caption as a host tensor {@code [1, TOKENS, width]}, the form {@link TacoCodec#compress} takes. */
  default HostTensor encodeTensor(String caption) {
    try (NDManager m = NDManager.newBaseManager()) {
      return HostTensor.fromNDArray(encode(m, List.of(caption)));
    }
  }

  /**
   * Features of the caption of one named item (an image file name): sources that store features per item look them up
   * by name; the others encode the caption.
   */
  default HostTensor encodeTensor(String itemName, String caption) {
    return encodeTensor(caption);
  }

  @Override
  default void close() {}

  /**
   * All-zero features for every caption: the stand-in when no CLIP weights are given. It is NOT CLIP's embedding of any
   * caption (not even the empty one): the text adapter then receives no caption information, and results say so.
   */
  static CaptionEncoder zeros(int width) {
    return new CaptionEncoder() {
      @Override
      public String source() {
        return "all-zero text features (no CLIP text encoder and no precomputed embeddings: captions NOT used)";
      }

      @Override
      public boolean usesCaptions() {
        return false;
      }

      @Override
      public int width() {
        return width;
      }

      @Override
      public NDArray encode(NDManager manager, List<String> captions) {
        return manager.zeros(new Shape(captions.size(), TOKENS, width));
      }

      @Override
      public HostTensor encodeTensor(String caption) {
        return HostTensor.ofFloats(new float[TOKENS * width], 1, TOKENS, width);
      }
    };
  }
}
