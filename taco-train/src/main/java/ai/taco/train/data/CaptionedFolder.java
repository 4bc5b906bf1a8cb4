package ai.taco.train.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A flat folder of images, optionally with a captions JSON {@code {"file.png": "caption", ...}} (the format of TACO's
 * {@code materials/kodak_ofa.json}). Images without a caption get the empty caption.
 */
public final class CaptionedFolder {

  /** File name suffixes read as images (what javax.imageio decodes out of the box). */
  static final Set<String> IMAGE_SUFFIXES = Set.of(".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff");

  private CaptionedFolder() {}

  static boolean isImageName(String name) {
    String lower = name.toLowerCase(Locale.ROOT);
    return IMAGE_SUFFIXES.stream().anyMatch(lower::endsWith);
  }

  /** The folder's images sorted by file name; {@code captionsJson} may be null (no captions at all). */
  public static CaptionedDataset load(Path dir, Path captionsJson) {
    if (!Files.isDirectory(dir)) {
      throw new DatasetException("dataset folder not found: " + dir);
    }
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(p -> Files.isRegularFile(p) && isImageName(p.getFileName().toString())).sorted().toList();
    } catch (IOException e) {
      throw new DatasetException("cannot list " + dir + ": " + e.getMessage(), e);
    }
    if (files.isEmpty()) {
      throw new DatasetException("no images (" + IMAGE_SUFFIXES + ") in " + dir);
    }
    Map<String, String> captions = captionsJson == null ? Map.of() : readCaptions(captionsJson);
    List<CaptionedImage> out = new ArrayList<>();
    int uncaptioned = 0;
    Set<String> seen = new HashSet<>();
    for (Path p : files) {
      String name = p.getFileName().toString();
      seen.add(name);
      String c = captions.get(name);
      if (c == null) {
        uncaptioned++;
        out.add(new CaptionedImage(p, List.of()));
      } else {
        out.add(new CaptionedImage(p, List.of(c)));
      }
    }
    long unused = captions.keySet().stream().filter(k -> !seen.contains(k)).count();
    String description;
    if (captionsJson == null) {
      description =
          String.format(
              "image folder %s: %d images, NO captions: every caption is empty (the text adapter sees the empty"
                  + " caption)",
              dir, out.size());
    } else {
      description =
          String.format(
              "image folder %s with captions %s: %d images, %d captioned%s%s",
              dir,
              captionsJson,
              out.size(),
              out.size() - uncaptioned,
              uncaptioned > 0 ? ", " + uncaptioned + " WITHOUT a caption (empty caption)" : "",
              unused > 0 ? ", " + unused + " captions name files not in the folder (ignored)" : "");
    }
    return new CaptionedDataset(out, description, captionsJson != null && uncaptioned < out.size());
  }

  static Map<String, String> readCaptions(Path json) {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(json.toFile());
    } catch (IOException e) {
      throw new DatasetException("cannot read captions JSON " + json + ": " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new DatasetException(json + " must be a JSON object {\"file.png\": \"caption\", ...}");
    }
    Map<String, String> out = new java.util.LinkedHashMap<>();
    var it = root.fields();
    while (it.hasNext()) {
      var e = it.next();
      if (!e.getValue().isTextual()) {
        throw new DatasetException(json + ": the caption of " + e.getKey() + " is not a string");
      }
      out.put(e.getKey(), e.getValue().asText().strip());
    }
    return out;
  }
}
