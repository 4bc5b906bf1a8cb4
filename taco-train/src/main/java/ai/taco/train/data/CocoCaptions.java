package ai.taco.train.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The MS-COCO captions layout: {@code <root>/annotations/captions_train2014.json} with images in {@code
 * <root>/train2014/}, or the 2017 names. Every caption of an image is kept (COCO has five).
 */
public final class CocoCaptions {

  /** Splits tried in order (TACO trained on COCO 2014 train; 2017 has the same images under other names). */
  static final String[] SPLITS = {"train2014", "train2017"};

  private CocoCaptions() {}

  /** True if {@code root} has a COCO captions file for one of the training splits. */
  public static boolean isCocoLayout(Path root) {
    for (String split : SPLITS) {
      if (Files.isRegularFile(annotationFile(root, split))) {
        return true;
      }
    }
    return false;
  }

  static Path annotationFile(Path root, String split) {
    return root.resolve("annotations").resolve("captions_" + split + ".json");
  }

  /** The images listed in the annotation file, in its order, with all their captions. */
  public static CaptionedDataset load(Path root) {
    for (String split : SPLITS) {
      Path ann = annotationFile(root, split);
      if (Files.isRegularFile(ann)) {
        return load(ann, root.resolve(split), split);
      }
    }
    throw new DatasetException(
        "no COCO captions file under " + root + "/annotations (looked for captions_train2014.json and"
            + " captions_train2017.json)");
  }

  private static CaptionedDataset load(Path annotations, Path imageDir, String split) {
    if (!Files.isDirectory(imageDir)) {
      throw new DatasetException("COCO image folder missing: " + imageDir + " (next to " + annotations + ")");
    }
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(annotations.toFile());
    } catch (IOException e) {
      throw new DatasetException("cannot read COCO captions " + annotations + ": " + e.getMessage(), e);
    }
    JsonNode images = root.path("images");
    JsonNode anns = root.path("annotations");
    if (!images.isArray() || !anns.isArray()) {
      throw new DatasetException(annotations + " is not a COCO captions file (needs 'images' and 'annotations' arrays)");
    }
    Map<Long, String> fileById = new LinkedHashMap<>();
    for (JsonNode img : images) {
      if (!img.hasNonNull("id") || !img.hasNonNull("file_name")) {
        throw new DatasetException(annotations + ": an image entry lacks 'id' or 'file_name': " + img);
      }
      fileById.put(img.get("id").asLong(), img.get("file_name").asText());
    }
    Map<Long, List<String>> captions = new LinkedHashMap<>();
    for (JsonNode a : anns) {
      long id = a.path("image_id").asLong(-1);
      if (!fileById.containsKey(id) || !a.hasNonNull("caption")) {
        throw new DatasetException(annotations + ": a caption entry has no valid image_id or caption: " + a);
      }
      captions.computeIfAbsent(id, k -> new ArrayList<>()).add(a.get("caption").asText().strip());
    }
    List<CaptionedImage> out = new ArrayList<>();
    int missing = 0;
    int uncaptioned = 0;
    for (Map.Entry<Long, String> e : fileById.entrySet()) {
      Path p = imageDir.resolve(e.getValue());
      if (!Files.isRegularFile(p)) {
        missing++;
        continue;
      }
      List<String> caps = captions.getOrDefault(e.getKey(), List.of());
      if (caps.isEmpty()) {
        uncaptioned++;
      }
      out.add(new CaptionedImage(p, caps));
    }
    int total = captions.values().stream().mapToInt(List::size).sum();
    String description =
        String.format(
            "COCO %s: %d images, %d captions (one drawn per sample per epoch)%s%s",
            split,
            out.size(),
            total,
            missing > 0 ? ", " + missing + " listed images missing from " + imageDir + " (skipped)" : "",
            uncaptioned > 0 ? ", " + uncaptioned + " images without a caption (empty caption)" : "");
    return new CaptionedDataset(out, description, true);
  }
}
