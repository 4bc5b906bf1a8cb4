package ai.taco.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;

/**
 * Turns a batch of captions into the text features the TACO encoder reads ({@code [B, 38, 512]}, the CLIP text
 * model's last hidden state in train.py). Called outside any GradientCollector: the features carry no gradient.
 */
public interface CaptionEncoder extends AutoCloseable {

  /** Token count of the official tokenizer call ({@code padding='max_length', max_length=38}). */
  int TOKENS = 38;

  NDArray encode(List<String> captions, NDManager manager);

  /** A short description for the start-of-run log. */
  String description();

  /** False when captions do not influence the features (no CLIP weights). */
  default boolean usesCaptions() {
    return true;
  }

  @Override
  default void close() {}

  /**
   * Without CLIP weights: every caption maps to the same all-zero feature tensor, so the text adapter receives no
   * caption information. Training still works (the adapter sees a constant input), but the result is not TACO's
   * text-guided encoder; the trainer says so at start.
   */
  static CaptionEncoder zeros(int textDim) {
    return new CaptionEncoder() {
      @Override
      public NDArray encode(List<String> captions, NDManager manager) {
        return manager.zeros(new Shape(captions.size(), TOKENS, textDim));
      }

      @Override
      public boolean usesCaptions() {
        return false;
      }

      @Override
      public String description() {
        return "no CLIP weights: captions are NOT used, the text adapter gets all-zero text features";
      }
    };
  }
}
