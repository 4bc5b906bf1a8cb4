package ai.taco.train.data;

import java.util.List;

/**
 * A batch of crops with their captions, on the host. Not DJL's {@code ai.djl.training.dataset.Batch}, which holds
 * NDArrays already on a manager and has no captions or resume position. {@code pixels} is float NCHW RGB in [0,1]; {@code captions} has one (possibly empty) caption per
 * crop. {@code endPosition} is how many entries of the epoch's permutation have been consumed after this batch (where
 * a resumed run restarts).
 */
public record ImageTextBatch(
    int epoch, long endPosition, float[] pixels, int size, int height, int width, List<String> names,
    List<String> captions) {

  public ImageTextBatch {
    names = List.copyOf(names);
    captions = List.copyOf(captions);
    if (pixels.length != (long) size * 3 * height * width) {
      throw new IllegalArgumentException("pixel count does not match " + size + "x3x" + height + "x" + width);
    }
  }
}
