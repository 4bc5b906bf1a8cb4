package ai.taco.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.testing.ReferenceData;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataTest {

  static Path data(String rel) {
    return ReferenceData.data(rel);
  }

  static List<ImageTextBatch> take(Iterator<ImageTextBatch> it, int n) {
    List<ImageTextBatch> out = new ArrayList<>();
    while (it.hasNext() && out.size() < n) {
      out.add(it.next());
    }
    return out;
  }

  @Test
  void cocoLayoutKeepsAllFiveCaptionsAndDrawsOnePerEpoch() {
    CaptionedDataset ds = CaptionedDataset.open(data("train-sample/coco"), null);
    assertEquals(80, ds.size());
    assertTrue(ds.captioned());
    assertTrue(ds.description().contains("train2017"), ds.description());
    assertEquals(400, ds.images().stream().mapToInt(i -> i.captions().size()).sum());
    Map<String, List<String>> byName = new HashMap<>();
    ds.images().forEach(i -> byName.put(i.path().getFileName().toString(), i.captions()));

    Map<String, Set<String>> drawn = new HashMap<>();
    try (Loader loader = new Loader(ds, new Loader.Options(new RandomCrop(32, 32), 8, 7, 2, 2))) {
      for (int epoch = 0; epoch < 4; epoch++) {
        List<ImageTextBatch> batches = take(loader.epoch(epoch, 0), 100);
        assertEquals(10, batches.size()); // 80 images / batch 8
        for (ImageTextBatch b : batches) {
          for (int i = 0; i < b.size(); i++) {
            String name = b.names().get(i);
            assertTrue(byName.get(name).contains(b.captions().get(i)), "caption not one of the image's own");
            drawn.computeIfAbsent(name, k -> new HashSet<>()).add(b.captions().get(i));
          }
        }
      }
    }
    assertEquals(80, drawn.size());
    // Four epochs, five captions: a fixed caption per image would give exactly 80 distinct pairs.
    assertTrue(drawn.values().stream().mapToInt(Set::size).sum() > 160, "captions are not redrawn per epoch");
  }

  @Test
  void folderWithoutCaptionsGivesEmptyCaptionsAndSaysSo() {
    CaptionedDataset ds = CaptionedDataset.open(data("train-sample/bsds500/train"), null);
    assertEquals(26, ds.size()); // the BSDS500 sample the repository carries
    assertFalse(ds.captioned());
    assertTrue(ds.description().contains("NO captions"), ds.description());
    try (Loader loader = new Loader(ds, new Loader.Options(new RandomCrop(16, 16), 4, 1, 1, 1))) {
      ImageTextBatch b = loader.epoch(0, 0).next();
      assertEquals(List.of("", "", "", ""), b.captions());
    }
  }

  @Test
  void folderWithCaptionsJson() {
    CaptionedDataset ds = CaptionedDataset.open(data("kodak"), data("captions/kodak_ofa.json"));
    assertEquals(8, ds.size()); // the Kodak images the repository carries, each with its OFA caption
    assertTrue(ds.captioned());
    CaptionedImage first = ds.images().get(0);
    assertEquals("kodim01.png", first.path().getFileName().toString());
    assertEquals(List.of("a brick building with red doors and windows"), first.captions());
  }

  @Test
  void cocoLayoutRefusesAnExtraCaptionsFile() {
    assertThrows(DatasetException.class, () -> CaptionedDataset.open(data("train-sample/coco"), data("captions/kodak_ofa.json")));
  }

  @Test
  void reproducibleAcrossThreadCountsAndResumable() {
    CaptionedDataset ds = CaptionedDataset.open(data("train-sample/coco"), null);
    List<ImageTextBatch> a;
    List<ImageTextBatch> b;
    List<ImageTextBatch> other;
    try (Loader one = new Loader(ds, new Loader.Options(new RandomCrop(48, 40), 4, 42, 1, 1));
        Loader three = new Loader(ds, new Loader.Options(new RandomCrop(48, 40), 4, 42, 3, 4));
        Loader otherSeed = new Loader(ds, new Loader.Options(new RandomCrop(48, 40), 4, 43, 2, 2))) {
      a = take(one.epoch(1, 0), 6);
      b = take(three.epoch(1, 0), 6);
      other = take(otherSeed.epoch(1, 0), 1);
      // Resume after batch 3: the next batches are those of the uninterrupted run.
      List<ImageTextBatch> resumed = take(three.epoch(1, a.get(2).endPosition()), 3);
      for (int i = 0; i < 3; i++) {
        assertEquals(a.get(3 + i).names(), resumed.get(i).names());
        assertArrayEquals(a.get(3 + i).pixels(), resumed.get(i).pixels());
      }
      assertNotEquals(a.get(0).names(), take(one.epoch(2, 0), 1).get(0).names(), "same permutation every epoch");
    }
    for (int i = 0; i < a.size(); i++) {
      assertEquals(a.get(i).names(), b.get(i).names());
      assertEquals(a.get(i).captions(), b.get(i).captions());
      assertArrayEquals(a.get(i).pixels(), b.get(i).pixels());
    }
    assertNotEquals(a.get(0).names(), other.get(0).names());
  }

  @Test
  void cropIsAnExactWindowOfTheImage() throws IOException {
    Path p = data("train-sample/bsds500/train").resolve("2092.jpg");
    BufferedImage img = ImageIO.read(p.toFile());
    RandomCrop crop = new RandomCrop(24, 40);
    float[] chw = crop.apply(img, new SplittableRandom(5));
    int found = 0;
    for (int top = 0; top + 24 <= img.getHeight(); top++) {
      for (int left = 0; left + 40 <= img.getWidth(); left++) {
        if (matches(img, chw, top, left, 24, 40)) {
          found++;
        }
      }
    }
    assertEquals(1, found, "the crop must be exactly one window of the decoded image");
  }

  private static boolean matches(BufferedImage img, float[] chw, int top, int left, int h, int w) {
    int plane = h * w;
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int rgb = img.getRGB(left + x, top + y);
        int i = y * w + x;
        if (Math.round(chw[i] * 255) != ((rgb >> 16) & 0xff)
            || Math.round(chw[plane + i] * 255) != ((rgb >> 8) & 0xff)
            || Math.round(chw[2 * plane + i] * 255) != (rgb & 0xff)) {
          return false;
        }
      }
    }
    return true;
  }

  @Test
  void smallImagesAreUpscaledKeepingAspect(@TempDir Path dir) throws IOException {
    RandomCrop crop = new RandomCrop(256, 256);
    assertArrayEquals(new int[] {256, 512}, crop.upscaledSize(100, 200));
    assertArrayEquals(new int[] {384, 256}, crop.upscaledSize(300, 200)); // only the width is short
    assertArrayEquals(new int[] {256, 256}, crop.upscaledSize(10, 10));
    // A constant-colour 30x20 image cropped to 64x64 stays that colour.
    BufferedImage small = new BufferedImage(20, 30, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 30; y++) {
      for (int x = 0; x < 20; x++) {
        small.setRGB(x, y, (200 << 16) | (100 << 8) | 50);
      }
    }
    float[] out = new RandomCrop(64, 64).apply(small, new SplittableRandom(1));
    assertEquals(3 * 64 * 64, out.length);
    assertEquals(200 / 255f, out[0], 1.5 / 255);
    assertEquals(100 / 255f, out[64 * 64 + 100], 1.5 / 255);
    assertEquals(50 / 255f, out[2 * 64 * 64 + 4000], 1.5 / 255);
  }

  @Test
  void grayAndSixteenBitImages() {
    BufferedImage gray16 = new BufferedImage(8, 8, BufferedImage.TYPE_USHORT_GRAY);
    gray16.getRaster().setSample(3, 2, 0, 35319);
    float[] out = RandomCrop.toChw(gray16, 0, 0, 8, 8);
    int i = 2 * 8 + 3;
    assertEquals(35319 / 65535f, out[i], 1e-7);
    assertEquals(35319 / 65535f, out[64 + i], 1e-7);
    assertEquals(35319 / 65535f, out[128 + i], 1e-7);
  }

  @Test
  void corruptImagesAreSkippedAndCounted(@TempDir Path dir) throws IOException {
    Path src = data("train-sample/bsds500/train");
    Files.copy(src.resolve("2092.jpg"), dir.resolve("a.jpg"));
    Files.copy(src.resolve("8049.jpg"), dir.resolve("c.jpg"));
    byte[] noise = new byte[5000];
    new Random(3).nextBytes(noise);
    Files.write(dir.resolve("b.png"), noise); // not an image at all
    byte[] jpg = Files.readAllBytes(src.resolve("8143.jpg"));
    Files.write(dir.resolve("d.jpg"), java.util.Arrays.copyOf(jpg, 40)); // truncated inside the header
    CaptionedDataset ds = CaptionedDataset.open(dir, null);
    assertEquals(4, ds.size());
    try (Loader loader = new Loader(ds, new Loader.Options(new RandomCrop(32, 32), 1, 9, 2, 2))) {
      for (int epoch = 0; epoch < 2; epoch++) {
        List<ImageTextBatch> batches = take(loader.epoch(epoch, 0), 10);
        assertEquals(2, batches.size());
        Set<String> names = new HashSet<>();
        batches.forEach(b -> names.addAll(b.names()));
        assertEquals(Set.of("a.jpg", "c.jpg"), names);
      }
      assertEquals(2, loader.skippedImages(), "each corrupt image counted once");
    }
  }

  @Test
  void missingFolderOrBadJson(@TempDir Path dir) throws IOException {
    assertThrows(DatasetException.class, () -> CaptionedDataset.open(dir.resolve("nope"), null));
    assertThrows(DatasetException.class, () -> CaptionedDataset.open(dir, null)); // no images
    Path json = dir.resolve("c.json");
    Files.writeString(json, "[1,2]");
    Files.copy(data("train-sample/bsds500/train").resolve("2092.jpg"), dir.resolve("a.jpg"));
    DatasetException e = assertThrows(DatasetException.class, () -> CaptionedDataset.open(dir, json));
    assertTrue(e.getMessage().contains("JSON object"), e.getMessage());
  }
}
