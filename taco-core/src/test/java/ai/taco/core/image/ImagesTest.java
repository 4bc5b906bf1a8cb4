package ai.taco.core.image;

import ai.taco.core.error.ImageException;
import ai.taco.core.tensor.HostTensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.testing.Golden;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImagesTest {
  @TempDir Path tmp;

  @Test
  void readsGoldenPngExactly() {
    for (String name : new String[] {"img0_64x64", "img1_128x192"}) {
      HostTensor x = Images.read(Golden.golden("taco-small/" + name + ".png"));
      HostTensor expected = Golden.tensors("taco-small/" + name + ".safetensors").get("x");
      assertArrayEquals(expected.shape(), x.shape());
      assertArrayEquals(expected.toFloatArray(), x.toFloatArray(), name);
    }
  }

  /** round(clamp(x_hat, 0, 1) * 255) reproduces the reference's x_hat PNGs pixel for pixel. */
  @Test
  void writesGoldenXHatPng() throws Exception {
    for (String name : new String[] {"img0_64x64", "img1_128x192"}) {
      HostTensor xHat = Golden.tensors("taco-small/" + name + ".safetensors").get("decompress.x_hat_cropped");
      Path out = tmp.resolve(name + ".png");
      Images.writePng(xHat, out, false);
      assertArrayEquals(rgb(Golden.golden("taco-small/" + name + ".x_hat.png")), rgb(out), name);
      BufferedImage written = ImageIO.read(out.toFile());
      assertEquals(BufferedImage.TYPE_3BYTE_BGR, written.getType(), "8-bit RGB PNG, no alpha");
    }
  }

  private static int[] rgb(Path p) throws Exception {
    BufferedImage b = ImageIO.read(p.toFile());
    return b.getRGB(0, 0, b.getWidth(), b.getHeight(), null, 0, b.getWidth());
  }

  @Test
  void roundsHalfToEvenAndClamps() {
    // Find floats v with v * 255f exactly k + 0.5 (independent of the code under test).
    int found = 0;
    for (int k = 0; k < 254; k++) {
      float v = (k + 0.5f) / 255f;
      for (int d = -2; d <= 2; d++) {
        float c = v + d * Math.ulp(v);
        if (c * 255f == k + 0.5f) {
          assertEquals(k % 2 == 0 ? k : k + 1, Images.toByte(c), "tie at " + (k + 0.5));
          found++;
          break;
        }
      }
    }
    assertTrue(found > 20, "found " + found + " exact ties");
    assertEquals(0, Images.toByte(-3f));
    assertEquals(255, Images.toByte(7f));
    assertEquals(128, Images.toByte(0.5f));
    assertThrows(ImageException.class, () -> Images.toByte(Float.NaN));
  }

  @Test
  void roundTripsEightBitRgb() {
    float[] chw = new float[3 * 5 * 7];
    for (int i = 0; i < chw.length; i++) {
      chw[i] = ((i * 37) % 256) / 255f;
    }
    Path p = tmp.resolve("rt.png");
    Images.writePng(chw, 5, 7, p, false);
    HostTensor back = Images.read(p);
    assertArrayEquals(new long[] {1, 3, 5, 7}, back.shape());
    assertArrayEquals(chw, back.toFloatArray());
  }

  @Test
  void refusesToOverwriteWithoutForce() throws Exception {
    Path p = tmp.resolve("exists.png");
    Files.writeString(p, "keep me");
    float[] chw = new float[3 * 2 * 2];
    ImageException e = assertThrows(ImageException.class, () -> Images.writePng(chw, 2, 2, p, false));
    assertTrue(e.getMessage().contains("exists.png"), e.getMessage());
    assertEquals("keep me", Files.readString(p));
    Images.writePng(chw, 2, 2, p, true);
    assertArrayEquals(chw, Images.read(p).toFloatArray());
    try (var s = Files.list(tmp)) {
      assertEquals(1, s.count(), "no temporary files left behind");
    }
  }

  @Test
  void sixteenBitRgbKeepsFullPrecision() throws Exception {
    ComponentColorModel cm = new ComponentColorModel(
        ColorSpace.getInstance(ColorSpace.CS_sRGB), false, false, Transparency.OPAQUE, DataBuffer.TYPE_USHORT);
    WritableRaster r = cm.createCompatibleWritableRaster(3, 2);
    int[] samples = {35319, 0, 65535, 1, 2, 3, 256, 257, 258, 40000, 50000, 60000, 7, 8, 9, 65534, 100, 1000};
    r.setPixels(0, 0, 3, 2, samples);
    Path p = tmp.resolve("rgb16.png");
    assertTrue(ImageIO.write(new BufferedImage(cm, r, false, null), "png", p.toFile()));
    float[] x = Images.read(p).toFloatArray();
    int plane = 6;
    for (int i = 0; i < 6; i++) {
      for (int c = 0; c < 3; c++) {
        assertEquals(samples[3 * i + c] / 65535f, x[c * plane + i], 0f);
      }
    }
  }

  @Test
  void grayscaleAndSixteenBitGrayAreReplicated() throws Exception {
    BufferedImage g8 = new BufferedImage(4, 3, BufferedImage.TYPE_BYTE_GRAY);
    g8.getRaster().setPixels(0, 0, 4, 3, new int[] {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 255});
    BufferedImage g16 = new BufferedImage(4, 3, BufferedImage.TYPE_USHORT_GRAY);
    g16.getRaster().setPixels(0, 0, 4, 3, new int[] {0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10, 65535});
    for (BufferedImage b : new BufferedImage[] {g8, g16}) {
      Path p = tmp.resolve("gray" + b.getType() + ".png");
      assertTrue(ImageIO.write(b, "png", p.toFile()));
      int max = b.getType() == BufferedImage.TYPE_BYTE_GRAY ? 255 : 65535;
      int[] s = b.getRaster().getPixels(0, 0, 4, 3, (int[]) null);
      float[] x = Images.read(p).toFloatArray();
      for (int c = 0; c < 3; c++) {
        for (int i = 0; i < 12; i++) {
          assertEquals(s[i] / (float) max, x[c * 12 + i], 0f);
        }
      }
    }
  }

  @Test
  void alphaIsDroppedAndPaletteExpanded() throws Exception {
    BufferedImage argb = new BufferedImage(2, 2, BufferedImage.TYPE_INT_ARGB);
    argb.setRGB(0, 0, 0x10203040);
    argb.setRGB(1, 0, 0xff0000ff);
    argb.setRGB(0, 1, 0x80ff8000);
    argb.setRGB(1, 1, 0x00000000);
    Path p = tmp.resolve("rgba.png");
    assertTrue(ImageIO.write(argb, "png", p.toFile()));
    float[] x = Images.read(p).toFloatArray();
    assertArrayEquals(new float[] {0x20 / 255f, 0, 0xff / 255f, 0}, Arrays.copyOfRange(x, 0, 4));
    assertArrayEquals(new float[] {0x30 / 255f, 0, 0x80 / 255f, 0}, Arrays.copyOfRange(x, 4, 8));
    assertArrayEquals(new float[] {0x40 / 255f, 1, 0, 0}, Arrays.copyOfRange(x, 8, 12));

    byte[] red = {0, (byte) 200, 10};
    byte[] green = {0, 100, 20};
    byte[] blue = {0, 50, (byte) 255};
    BufferedImage pal = new BufferedImage(3, 1, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(8, 3, red, green, blue));
    pal.getRaster().setPixels(0, 0, 3, 1, new int[] {2, 1, 0});
    Path pp = tmp.resolve("palette.png");
    assertTrue(ImageIO.write(pal, "png", pp.toFile()));
    float[] y = Images.read(pp).toFloatArray();
    assertArrayEquals(new float[] {10 / 255f, 200 / 255f, 0, 20 / 255f, 100 / 255f, 0, 1, 50 / 255f, 0}, y);
  }

  @Test
  void readsJpeg() throws Exception {
    BufferedImage b = new BufferedImage(16, 8, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 8; y++) {
      for (int x = 0; x < 16; x++) {
        b.setRGB(x, y, 0x808080);
      }
    }
    Path p = tmp.resolve("a.jpg");
    assertTrue(ImageIO.write(b, "jpg", p.toFile()));
    HostTensor t = Images.read(p);
    assertArrayEquals(new long[] {1, 3, 8, 16}, t.shape());
    for (float v : t.toFloatArray()) {
      assertEquals(128 / 255f, v, 2 / 255f);
    }
  }

  @Test
  void badFilesGiveTypedErrorsNamingTheFile() throws Exception {
    Path text = tmp.resolve("notes.txt");
    Files.writeString(text, "this is not an image", StandardCharsets.UTF_8);
    Path empty = tmp.resolve("empty.png");
    Files.createFile(empty);
    byte[] png = Files.readAllBytes(Golden.golden("taco-small/img0_64x64.png"));
    Path truncated = tmp.resolve("truncated.png");
    Files.write(truncated, Arrays.copyOf(png, png.length / 2));
    Path header = tmp.resolve("header-only.png");
    Files.write(header, Arrays.copyOf(png, 30));
    BufferedImage b = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
    Path jpg = tmp.resolve("full.jpg");
    ImageIO.write(b, "jpg", jpg.toFile());
    byte[] jb = Files.readAllBytes(jpg);
    Path truncatedJpg = tmp.resolve("truncated.jpg");
    Files.write(truncatedJpg, Arrays.copyOf(jb, jb.length * 2 / 3));
    Path missing = tmp.resolve("missing.png");
    for (Path p : new Path[] {text, empty, truncated, header, truncatedJpg, missing, tmp}) {
      ImageException e = assertThrows(ImageException.class, () -> Images.read(p), p.toString());
      assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
    }
  }

  @Test
  void padAndCrop() {
    try (var m = ai.djl.ndarray.NDManager.newBaseManager()) {
      var x = m.ones(new ai.djl.ndarray.types.Shape(1, 3, 65, 64));
      var p = Images.pad(x, 64);
      assertEquals(new ai.djl.ndarray.types.Shape(1, 3, 128, 64), p.getShape());
      assertEquals(3f * 65 * 64, p.sum().getFloat(), 0f);
      assertEquals(x.getShape(), Images.crop(p, 65, 64).getShape());
      assertEquals(x, Images.crop(p, 65, 64));
    }
  }
}
