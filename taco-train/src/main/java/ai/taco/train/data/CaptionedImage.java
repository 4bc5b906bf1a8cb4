package ai.taco.train.data;

import java.nio.file.Path;
import java.util.List;

/**
 * One training image and its captions. COCO gives five per image (one is drawn per sample per epoch); a captions JSON
 * gives one; an uncaptioned folder gives none, in which case the sample's caption is the empty string.
 */
public record CaptionedImage(Path path, List<String> captions) {
  public CaptionedImage {
    captions = List.copyOf(captions);
  }
}
