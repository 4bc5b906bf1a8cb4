package ai.taco.eval.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Prepares the MS-COCO 30k benchmark: the 30,504 val2014 names of TACO's {@code materials/mscoco_30k_list.json}
 * (the same count as the Karpathy "restval" split), sorted as {@code generate_images_mscoco30k.py} sorts them, each
 * with one caption from COCO's captions file ({@link EvalDataset#readCaptions}: the smallest annotation id), written
 * as lossless PNGs plus a {@code captions.json} so the prepared folder is evaluated like Kodak.
 */
public final class Coco30k {

  /** Side of the square crop (the paper's MS-COCO 30k setting). */
  public static final int CROP = 256;

  /** DJL/PyTorch interpolation modes ({@code NDArrayEx.interpolation}): 1 = bilinear, 3 = bicubic. */
  static final int BILINEAR = 1;

  static final int BICUBIC = 3;

  private static final Pattern COCO_ID = Pattern.compile("(\\d{12})\\.(jpg|jpeg|png)$", Pattern.CASE_INSENSITIVE);

  /** How each image becomes the evaluated picture. */
  public enum Preprocess {
    /**
     * Center crop 256x256 at torchvision's offsets ({@code round((H-256)/2)}, half to even). An image with a side
     * shorter than 256 is first resized so that side is 256 (bicubic), and is listed in the manifest.
     */
    CROP,
    /** Shorter side resized to 256 (bicubic, antialiased; torchvision Resize(256)) then center crop 256x256. */
    RESIZE_CROP,
    /** The full image unchanged: what the official generate_images_mscoco30k.py actually feeds the codec. */
    NONE
  }

  private Coco30k() {}

  /**
   * Result of {@link #prepare}: the folder and caption file written, the prepared images in evaluation order (exactly
   * the listed ones, even if the folder holds files of an earlier preparation), and the names that needed an upscale.
   */
  public record Prepared(Path imagesDir, Path captionsFile, List<EvalDataset.Item> items, List<String> upscaled) {
    public int images() {
      return items.size();
    }
  }

  /**
   * @param list TACO's mscoco_30k_list.json (or any JSON array of COCO file names)
   * @param imagesDir the folder holding the images: val2014 names ({@code COCO_val2014_<12 digits>.jpg}) or the
   *     equivalent 2017 names ({@code <12 digits>.jpg}) are both found
   * @param cocoCaptions COCO's captions_val2014.json (captions_val2017.json for the 2017 layout)
   * @param outDir receives {@code images/} and {@code captions.json}; must not hold a previous preparation
   * @param limit keep only the first {@code limit} names after sorting (0 = all)
   */
  public static Prepared prepare(
      Path list, Path imagesDir, Path cocoCaptions, Path outDir, Preprocess mode, int limit) {
    List<String> names = readList(list);
    Collections.sort(names);
    if (limit > 0 && names.size() > limit) {
      names = new ArrayList<>(names.subList(0, limit));
    }
    if (!Files.isDirectory(imagesDir)) {
      throw new BenchmarkException("COCO image folder not found: " + imagesDir);
    }
    Map<Long, String> captionsById = captionsById(EvalDataset.readCaptions(cocoCaptions), cocoCaptions);
    Path images = outDir.resolve("images");
    try {
      Files.createDirectories(images);
    } catch (IOException e) {
      throw new BenchmarkException("cannot create " + images + ": " + e.getMessage(), e);
    }
    ObjectNode caps = new ObjectMapper().createObjectNode();
    List<String> upscaled = new ArrayList<>();
    List<EvalDataset.Item> items = new ArrayList<>();
    for (String name : names) {
      long id = imageId(name);
      String caption = captionsById.get(id);
      if (caption == null) {
        throw new BenchmarkException("no caption for " + name + " (image id " + id + ") in " + cocoCaptions);
      }
      Path src = locate(imagesDir, name, id);
      RgbImage img = RgbImage.read(src);
      if (mode != Preprocess.NONE && Math.min(img.width(), img.height()) < CROP) {
        upscaled.add(name);
      }
      RgbImage out = preprocess(img, mode);
      String outName = stem(name) + ".png";
      out.writePng(images.resolve(outName));
      caps.put(outName, caption);
      items.add(new EvalDataset.Item(outName, images.resolve(outName), caption));
    }
    Path captionsFile = outDir.resolve("captions.json");
    try {
      new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(captionsFile.toFile(), caps);
    } catch (IOException e) {
      throw new BenchmarkException("cannot write " + captionsFile + ": " + e.getMessage(), e);
    }
    return new Prepared(images, captionsFile, items, upscaled);
  }

  static List<String> readList(Path list) {
    JsonNode root = EvalDataset.readJson(list);
    if (!root.isArray()) {
      throw new BenchmarkException(list + ": expected a JSON array of COCO file names");
    }
    List<String> names = new ArrayList<>();
    for (JsonNode n : root) {
      names.add(n.asText());
    }
    if (names.isEmpty()) {
      throw new BenchmarkException(list + " lists no images");
    }
    return names;
  }

  /** COCO image id from a 2014 ("COCO_val2014_000000338840.jpg") or 2017 ("000000338840.jpg") file name. */
  static long imageId(String name) {
    Matcher m = COCO_ID.matcher(name);
    if (!m.find()) {
      throw new BenchmarkException("not a COCO file name (no 12-digit image id): " + name);
    }
    return Long.parseLong(m.group(1));
  }

  private static Map<Long, String> captionsById(Map<String, String> byName, Path file) {
    Map<Long, String> out = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : byName.entrySet()) {
      out.put(imageId(e.getKey()), e.getValue());
    }
    if (out.isEmpty()) {
      throw new BenchmarkException(file + " holds no captions");
    }
    return out;
  }

  private static Path locate(Path dir, String name, long id) {
    Path p = dir.resolve(name);
    if (Files.isRegularFile(p)) {
      return p;
    }
    Path p2017 = dir.resolve(String.format("%012d.jpg", id));
    if (Files.isRegularFile(p2017)) {
      return p2017;
    }
    throw new BenchmarkException("image " + name + " not found in " + dir + " (nor as " + p2017.getFileName() + ")");
  }

  private static String stem(String name) {
    int dot = name.lastIndexOf('.');
    return dot < 0 ? name : name.substring(0, dot);
  }

  /** The evaluated picture for one COCO image under {@code mode}. */
  public static RgbImage preprocess(RgbImage img, Preprocess mode) {
    switch (mode) {
      case NONE:
        return img;
      case RESIZE_CROP:
        return centerCrop(resizeShorterSide(img, CROP, BICUBIC), CROP);
      case CROP:
      default:
        RgbImage big = Math.min(img.width(), img.height()) < CROP ? resizeShorterSide(img, CROP, BICUBIC) : img;
        return centerCrop(big, CROP);
    }
  }

  /** torchvision center_crop offsets: {@code int(round((H - size) / 2.0))}, Python's round = half to even. */
  static RgbImage centerCrop(RgbImage img, int size) {
    int top = (int) Math.rint((img.height() - size) / 2.0);
    int left = (int) Math.rint((img.width() - size) / 2.0);
    return img.crop(top, left, size, size);
  }

  /**
   * torchvision Resize(size) output size: the shorter side becomes {@code size}, the longer {@code int(size·long/short)};
   * antialiased when shrinking (DJL's PyTorch interpolation, docs/djl-traps.md; upsampling is
   * plain interpolation).
   *
   * @param mode {@link #BICUBIC} or {@link #BILINEAR}
   */
  static RgbImage resizeShorterSide(RgbImage img, int size, int mode) {
    int h = img.height();
    int w = img.width();
    int nh;
    int nw;
    if (h <= w) {
      nh = size;
      nw = (int) ((long) size * w / h);
    } else {
      nw = size;
      nh = (int) ((long) size * h / w);
    }
    if (nh == h && nw == w) {
      return img;
    }
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray x = m.create(img.planes(), new Shape(1, 3, h, w));
      NDArray y = x.getNDArrayInternal().interpolation(new long[] {nh, nw}, mode, false);
      return new RgbImage(nw, nh, y.toFloatArray());
    }
  }
}
