package ai.taco.eval.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The images of one benchmark with their captions, in the order the official evaluation visits them (file names
 * sorted; {@code datasets_image_cap.py} keeps names containing .png/.jpg/.jpeg).
 */
public record EvalDataset(String name, List<Item> items) {

  /** One image: its file name (the key of the caption and of the results), its path, its caption. */
  public record Item(String name, Path path, String caption) {}

  public EvalDataset {
    items = List.copyOf(items);
    if (items.isEmpty()) {
      throw new BenchmarkException("dataset '" + name + "' has no images");
    }
  }

  /**
   * A folder of images with a caption file, as the paper evaluates Kodak and CLIC.
   *
   * @param captions a JSON object {@code {"file name": "caption"}} (TACO's kodak_ofa.json / clic_ofa.json), or a COCO
   *     captions file (see {@link #readCaptions}); {@code null} to run without captions
   * @param limit keep only the first {@code limit} images in sorted order (0 = all)
   */
  public static EvalDataset folder(Path dir, Path captions, int limit) {
    if (!Files.isDirectory(dir)) {
      throw new BenchmarkException("dataset folder not found: " + dir);
    }
    Map<String, String> caps = captions == null ? Map.of() : readCaptions(captions);
    TreeMap<String, Path> files = new TreeMap<>();
    try (Stream<Path> s = Files.list(dir)) {
      s.filter(Files::isRegularFile)
          .filter(p -> isImageName(p.getFileName().toString()))
          .forEach(p -> files.put(p.getFileName().toString(), p));
    } catch (IOException e) {
      throw new BenchmarkException("cannot list " + dir + ": " + e.getMessage(), e);
    }
    List<Item> items = new ArrayList<>();
    List<String> missing = new ArrayList<>();
    for (Map.Entry<String, Path> e : files.entrySet()) {
      if (limit > 0 && items.size() == limit) {
        break;
      }
      String caption = caps.get(e.getKey());
      if (captions != null && caption == null) {
        missing.add(e.getKey());
        continue;
      }
      items.add(new Item(e.getKey(), e.getValue(), caption == null ? "" : caption));
    }
    if (!missing.isEmpty()) {
      throw new BenchmarkException(
          missing.size() + " image(s) in " + dir + " have no caption in " + captions + ", e.g. " + missing.get(0));
    }
    if (items.isEmpty()) {
      throw new BenchmarkException("no .png/.jpg/.jpeg images in " + dir);
    }
    return new EvalDataset(dir.getFileName().toString(), items);
  }

  static boolean isImageName(String n) {
    String l = n.toLowerCase(Locale.ROOT);
    return l.endsWith(".png") || l.endsWith(".jpg") || l.endsWith(".jpeg");
  }

  /**
   * Reads captions keyed by file name: either a flat JSON object {@code {"name": "caption"}}, or an MS-COCO captions
   * file ({@code images[]} + {@code annotations[]}) of which ONE caption per image is kept, the one with the
   * smallest annotation id (a documented deterministic rule; TACO's own 41k pair file is not public).
   */
  public static Map<String, String> readCaptions(Path file) {
    JsonNode root = readJson(file);
    if (root.isObject() && root.has("annotations") && root.has("images")) {
      return cocoCaptions(root, file);
    }
    if (!root.isObject()) {
      throw new BenchmarkException(file + ": expected a JSON object {\"file name\": \"caption\", ...}");
    }
    Map<String, String> out = new LinkedHashMap<>();
    Iterator<Map.Entry<String, JsonNode>> it = root.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw new BenchmarkException(file + ": caption of '" + e.getKey() + "' is not a string");
      }
      out.put(e.getKey(), e.getValue().asText());
    }
    return out;
  }

  /** file_name -> caption with the smallest annotation id. */
  static Map<String, String> cocoCaptions(JsonNode root, Path file) {
    Map<Long, String> names = new LinkedHashMap<>();
    for (JsonNode img : root.get("images")) {
      names.put(img.path("id").asLong(), img.path("file_name").asText());
    }
    Map<Long, Long> bestId = new LinkedHashMap<>();
    Map<Long, String> best = new LinkedHashMap<>();
    for (JsonNode a : root.get("annotations")) {
      long image = a.path("image_id").asLong();
      long id = a.path("id").asLong();
      if (!names.containsKey(image)) {
        throw new BenchmarkException(file + ": annotation " + id + " refers to unknown image " + image);
      }
      Long cur = bestId.get(image);
      if (cur == null || id < cur) {
        bestId.put(image, id);
        best.put(image, a.path("caption").asText().strip());
      }
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<Long, String> e : names.entrySet()) {
      String c = best.get(e.getKey());
      if (c != null) {
        out.put(e.getValue(), c);
      }
    }
    return out;
  }

  static JsonNode readJson(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new BenchmarkException("file not found: " + file);
    }
    try {
      return new ObjectMapper().readTree(file.toFile());
    } catch (IOException e) {
      throw new BenchmarkException("not valid JSON: " + file + ": " + e.getMessage(), e);
    }
  }
}
