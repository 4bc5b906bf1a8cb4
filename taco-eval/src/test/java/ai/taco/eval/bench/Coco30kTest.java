package ai.taco.eval.bench;

import ai.taco.core.testing.Golden;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** MS-COCO 30k preparation on the COCO-format sample (val2017 layout, 2014-style names in the list). */
class Coco30kTest {

  private static final Path COCO = Golden.data("train-sample/coco");
  private static final Path CAPTIONS = COCO.resolve("annotations/captions_val2017.json");

  private static Path list(Path tmp, String... names) throws Exception {
    Path f = tmp.resolve("list.json");
    new ObjectMapper().writeValue(f.toFile(), List.of(names));
    return f;
  }

  /** The caption with the smallest annotation id, read independently from the COCO file. */
  private static String firstCaption(long imageId) throws Exception {
    JsonNode root = new ObjectMapper().readTree(CAPTIONS.toFile());
    long best = Long.MAX_VALUE;
    String caption = null;
    for (JsonNode a : root.get("annotations")) {
      if (a.get("image_id").asLong() == imageId && a.get("id").asLong() < best) {
        best = a.get("id").asLong();
        caption = a.get("caption").asText().strip();
      }
    }
    return caption;
  }

  @Test
  void centerCropsSortsAndPicksTheFirstCaptionById(@TempDir Path tmp) throws Exception {
    Path list = list(tmp, "COCO_val2014_000000011813.jpg", "COCO_val2014_000000000802.jpg",
        "COCO_val2014_000000000139.jpg");
    Coco30k.Prepared p = Coco30k.prepare(list, COCO.resolve("val2017"), CAPTIONS, tmp.resolve("out"),
        Coco30k.Preprocess.CROP, 0);
    assertEquals(3, p.images());
    assertTrue(p.upscaled().isEmpty());
    EvalDataset ds = EvalDataset.folder(p.imagesDir(), p.captionsFile(), 0);
    assertEquals(ds.items(), p.items());
    assertEquals(List.of("COCO_val2014_000000000139.png", "COCO_val2014_000000000802.png",
        "COCO_val2014_000000011813.png"), ds.items().stream().map(EvalDataset.Item::name).toList());
    assertEquals(firstCaption(139), ds.items().get(0).caption());
    assertEquals(firstCaption(11813), ds.items().get(2).caption());

    // 640x426: offsets (85, 192). 333x500: left = round(77/2 = 38.5) = 38 with Python's half-to-even rounding.
    assertCrop(p.imagesDir().resolve("COCO_val2014_000000000139.png"), "000000000139.jpg", 85, 192);
    assertCrop(p.imagesDir().resolve("COCO_val2014_000000011813.png"), "000000011813.jpg", 122, 38);
  }

  private static void assertCrop(Path prepared, String original, int top, int left) throws Exception {
    BufferedImage out = ImageIO.read(prepared.toFile());
    BufferedImage src = ImageIO.read(COCO.resolve("val2017").resolve(original).toFile());
    assertEquals(256, out.getWidth());
    assertEquals(256, out.getHeight());
    for (int y = 0; y < 256; y += 5) {
      for (int x = 0; x < 256; x += 5) {
        assertEquals(src.getRGB(left + x, top + y) & 0xffffff, out.getRGB(x, y) & 0xffffff,
            prepared + " at " + x + "," + y);
      }
    }
  }

  @Test
  void limitKeepsTheFirstSortedNamesAndNoneKeepsFullSize(@TempDir Path tmp) throws Exception {
    Path list = list(tmp, "COCO_val2014_000000011813.jpg", "COCO_val2014_000000000139.jpg");
    Coco30k.Prepared p = Coco30k.prepare(list, COCO.resolve("val2017"), CAPTIONS, tmp.resolve("out"),
        Coco30k.Preprocess.NONE, 1);
    assertEquals(1, p.images());
    BufferedImage out = ImageIO.read(p.imagesDir().resolve("COCO_val2014_000000000139.png").toFile());
    assertEquals(640, out.getWidth());
    assertEquals(426, out.getHeight());
    Map<String, String> caps = EvalDataset.readCaptions(p.captionsFile());
    assertEquals(Map.of("COCO_val2014_000000000139.png", firstCaption(139)), caps);
    // A second, smaller preparation into the same folder evaluates only what it listed.
    Coco30k.Prepared again = Coco30k.prepare(list(tmp, "COCO_val2014_000000011813.jpg"), COCO.resolve("val2017"),
        CAPTIONS, tmp.resolve("out"), Coco30k.Preprocess.NONE, 0);
    assertEquals(List.of("COCO_val2014_000000011813.png"),
        again.items().stream().map(EvalDataset.Item::name).toList());
  }

  @Test
  void resizeCropScalesTheShorterSideTo256(@TempDir Path tmp) throws Exception {
    RgbImage src = RgbImage.read(COCO.resolve("val2017/000000011813.jpg"));
    RgbImage r = Coco30k.resizeShorterSide(src, 256, Coco30k.BICUBIC);
    // torchvision Resize(256): 333x500 -> 256 x int(256*500/333) = 256x384.
    assertEquals(256, r.width());
    assertEquals(384, r.height());
    RgbImage c = Coco30k.preprocess(src, Coco30k.Preprocess.RESIZE_CROP);
    assertEquals(256, c.width());
    assertEquals(256, c.height());
    // Downscaling preserves the mean colour of the whole picture closely.
    assertEquals(mean(src), mean(r), 2e-3);
  }

  private static double mean(RgbImage img) {
    double s = 0;
    for (float v : img.planes()) {
      s += v;
    }
    return s / img.planes().length;
  }

  @Test
  void clearErrorsForMissingImagesCaptionsAndBadNames(@TempDir Path tmp) throws Exception {
    Path val = COCO.resolve("val2017");
    BenchmarkException e = assertThrows(BenchmarkException.class, () -> Coco30k.prepare(
        list(tmp, "COCO_val2014_000000999999.jpg"), val, CAPTIONS, tmp.resolve("o1"), Coco30k.Preprocess.CROP, 0));
    assertTrue(e.getMessage().contains("no caption"), e.getMessage());
    e = assertThrows(BenchmarkException.class, () -> Coco30k.prepare(
        list(tmp, "kodim01.png"), val, CAPTIONS, tmp.resolve("o2"), Coco30k.Preprocess.CROP, 0));
    assertTrue(e.getMessage().contains("12-digit"), e.getMessage());
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    e = assertThrows(BenchmarkException.class, () -> Coco30k.prepare(
        list(tmp, "COCO_val2014_000000000139.jpg"), empty, CAPTIONS, tmp.resolve("o3"), Coco30k.Preprocess.CROP, 0));
    assertTrue(e.getMessage().contains("not found"), e.getMessage());
  }
}
