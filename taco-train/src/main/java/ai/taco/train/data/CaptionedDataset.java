package ai.taco.train.data;

import java.nio.file.Path;
import java.util.List;

/**
 * A list of training images with their captions and a one-line description for the log. Not DJL's
 * {@code ai.djl.training.dataset.Dataset}: that one yields DJL {@code Batch}es of NDArrays through DJL's
 * {@code Trainer}; this is a host-side list the {@link Loader} crops and shuffles exactly as train.py does.
 *
 * @param captioned false when no image has a caption (the trainer says so at start)
 */
public record CaptionedDataset(List<CaptionedImage> images, String description, boolean captioned) {

  public CaptionedDataset {
    images = List.copyOf(images);
    if (images.isEmpty()) {
      throw new DatasetException("the dataset has no images: " + description);
    }
  }

  /**
   * Opens {@code dir}: the COCO layout if {@code dir/annotations/captions_train{2014,2017}.json} exists (then
   * {@code captionsJson} must be null), else a folder of images with the optional captions JSON.
   */
  public static CaptionedDataset open(Path dir, Path captionsJson) {
    if (CocoCaptions.isCocoLayout(dir)) {
      if (captionsJson != null) {
        throw new DatasetException(
            dir + " is in the COCO layout (captions come from its annotations); do not also give a captions JSON");
      }
      return CocoCaptions.load(dir);
    }
    return CaptionedFolder.load(dir, captionsJson);
  }

  public int size() {
    return images.size();
  }
}
