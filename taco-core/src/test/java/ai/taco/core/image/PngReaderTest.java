package ai.taco.core.image;

import ai.taco.core.tensor.HostTensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import ai.taco.testing.ReferenceData;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The streaming PNG reader against javax.imageio: every colour type and bit depth, odd sizes, every filter type, IDAT
 * cut anywhere, files javax.imageio writes and the Kodak images give the floats {@link Images#read(Path)} gave through
 * javax.imageio, bit for bit, and {@link Images#readCompact(Path)} gives the same samples as bytes.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PngReaderTest {
  /** Every (colour type, bit depth) pair PNG defines (spec. table 11.1). */
  private static final int[][] TYPES = {
    {0, 1}, {0, 2}, {0, 4}, {0, 8}, {0, 16}, {2, 8}, {2, 16}, {3, 1}, {3, 2}, {3, 4}, {3, 8}, {4, 8}, {4, 16}, {6, 8},
    {6, 16}
  };

  private static final int[][] SIZES = {{1, 1}, {3, 7}, {257, 129}};

  @TempDir Path tmp;

  /**
   * What {@link Images#read(Path)} returned through javax.imageio before the streaming reader, written out here
   * independently of it: component rasters as sample / (2^bits − 1), anything else (palettes) as 8-bit sRGB / 255.
   */
  static float[] imageIoReference(Path file) throws Exception {
    BufferedImage b = ImageIO.read(file.toFile());
    int w = b.getWidth();
    int h = b.getHeight();
    float[] out = new float[3 * w * h];
    Raster r = b.getRaster();
    if (b.getColorModel() instanceof ComponentColorModel cm) {
      int colors = cm.getNumColorComponents();
      float scale = (float) ((1L << cm.getComponentSize(0)) - 1);
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          for (int c = 0; c < 3; c++) {
            out[c * w * h + y * w + x] = r.getSample(x, y, colors == 1 ? 0 : c) / scale;
          }
        }
      }
    } else {
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          int p = b.getRGB(x, y);
          out[y * w + x] = ((p >> 16) & 0xff) / 255f;
          out[w * h + y * w + x] = ((p >> 8) & 0xff) / 255f;
          out[2 * w * h + y * w + x] = (p & 0xff) / 255f;
        }
      }
    }
    return out;
  }

  /** Streams {@code file} (it must not fall back) and checks both read forms against javax.imageio. */
  private static void assertStreamsAsImageIo(Path file, int bitDepth) throws Exception {
    float[] expected = imageIoReference(file);
    HostTensor floats = PngReader.read(file, false);
    assertNotNull(floats, file + " streamed");
    assertEquals(DataType.FLOAT32, floats.dataType());
    assertArrayEquals(expected, floats.toFloatArray(), file.toString());
    assertArrayEquals(expected, Images.read(file).toFloatArray(), file.toString());
    HostTensor compact = Images.readCompact(file);
    assertArrayEquals(floats.shape(), compact.shape());
    if (bitDepth == 16) {
      assertEquals(DataType.FLOAT32, compact.dataType(), file + ": 16-bit stays float");
      assertArrayEquals(expected, compact.toFloatArray(), file.toString());
    } else {
      assertEquals(DataType.UINT8, compact.dataType(), file.toString());
      long[] v = compact.toLongArray();
      float[] scaled = new float[v.length];
      for (int i = 0; i < v.length; i++) {
        scaled[i] = v[i] / 255f;
      }
      assertArrayEquals(expected, scaled, file + ": bytes / 255");
    }
  }

  /** Random raw rows for a colour type; palette images get a full palette so any index is valid. */
  private static byte[][] randomRows(Random r, int w, int h, int colourType, int bitDepth, boolean smooth) {
    byte[][] rows = new byte[h][PngCraft.rowBytes(w, colourType, bitDepth)];
    for (int y = 0; y < h; y++) {
      for (int i = 0; i < rows[y].length; i++) {
        // Ramps make Sub/Up/Average/Paeth predict well, noise makes them wrap: both paths of the byte arithmetic.
        rows[y][i] = (byte) (smooth && i % 5 != 0 ? i + 3 * y : r.nextInt(256));
      }
    }
    return rows;
  }

  private static byte[] fullPalette(Random r, int bitDepth) {
    byte[] p = new byte[3 << bitDepth];
    r.nextBytes(p);
    return p;
  }

  @Test
  void everyColourTypeBitDepthSizeAndFilterMatchesImageIo() throws Exception {
    Random r = new Random(11);
    // Rotations: every filter type on the first row (no row above) and on a 1x1 image, each followed by every other.
    int[][] filterPlans = {{0, 1, 2, 3, 4}, {1, 2, 3, 4, 0}, {2, 3, 4, 0, 1}, {3, 4, 0, 1, 2}, {4, 0, 1, 2, 3}};
    int files = 0;
    for (int[] t : TYPES) {
      int type = t[0];
      int depth = t[1];
      int bpp = Math.max(1, PngCraft.channels(type) * depth / 8);
      for (int[] s : SIZES) {
        for (int[] plan : filterPlans) {
          byte[][] rows = randomRows(r, s[0], s[1], type, depth, plan[0] % 2 == 0);
          byte[] palette = type == 3 ? fullPalette(r, depth) : null;
          byte[] trns = type == 3 ? new byte[] {0, 7} : type == 2 ? new byte[6] : null;
          byte[] stream = PngCraft.filteredStream(rows, bpp, plan);
          // IDATs of 7 bytes for some files: rows and the zlib trailer cut across chunks everywhere.
          int idat = files % 2 == 0 ? 7 : 1 << 12;
          Path p = tmp.resolve("t" + type + "d" + depth + "_" + s[0] + "x" + s[1] + "_" + files++ + ".png");
          Files.write(p, PngCraft.png(PngCraft.ihdr(s[0], s[1], depth, type, 0), palette, trns, stream, idat));
          assertStreamsAsImageIo(p, depth);
        }
      }
    }
    assertEquals(TYPES.length * SIZES.length * filterPlans.length, files);
  }

  private Path writeWithImageIo(BufferedImage image, String name) throws Exception {
    Path p = tmp.resolve(name);
    assertTrue(ImageIO.write(image, "png", p.toFile()), name);
    return p;
  }

  /** Images as javax.imageio's own writer encodes them (its adaptive filters, its chunk layout). */
  @Test
  void filesWrittenByImageIoMatchImageIo() throws Exception {
    Random r = new Random(5);
    List<BufferedImage> images = new ArrayList<>();
    List<Integer> depths = new ArrayList<>();
    int[] awtTypes = {BufferedImage.TYPE_3BYTE_BGR, BufferedImage.TYPE_INT_ARGB, BufferedImage.TYPE_BYTE_GRAY,
        BufferedImage.TYPE_USHORT_GRAY, BufferedImage.TYPE_BYTE_INDEXED, BufferedImage.TYPE_BYTE_BINARY};
    for (int[] s : SIZES) {
      for (int awt : awtTypes) {
        BufferedImage b = new BufferedImage(s[0], s[1], awt);
        WritableRaster raster = b.getRaster();
        for (int y = 0; y < s[1]; y++) {
          for (int x = 0; x < s[0]; x++) {
            for (int c = 0; c < raster.getNumBands(); c++) {
              int max = (1 << raster.getSampleModel().getSampleSize(c)) - 1;
              raster.setSample(x, y, c, (x * 7 + y * 3 + c * 50) % 3 == 0 ? r.nextInt(max + 1) : (x + y * c) & max);
            }
          }
        }
        images.add(b);
        depths.add(awt == BufferedImage.TYPE_USHORT_GRAY ? 16 : 8);
      }
      // 16-bit RGB and RGBA
      for (boolean alpha : new boolean[] {false, true}) {
        ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB), alpha, false,
            alpha ? Transparency.TRANSLUCENT : Transparency.OPAQUE, DataBuffer.TYPE_USHORT);
        WritableRaster raster = cm.createCompatibleWritableRaster(s[0], s[1]);
        for (int y = 0; y < s[1]; y++) {
          for (int x = 0; x < s[0]; x++) {
            for (int c = 0; c < raster.getNumBands(); c++) {
              raster.setSample(x, y, c, r.nextInt(65536));
            }
          }
        }
        images.add(new BufferedImage(cm, raster, false, null));
        depths.add(16);
      }
    }
    // A 2- and a 4-bit gray palette image
    for (int bits : new int[] {2, 4}) {
      int n = 1 << bits;
      byte[] g = new byte[n];
      for (int i = 0; i < n; i++) {
        g[i] = (byte) (i * 255 / (n - 1));
      }
      BufferedImage b = new BufferedImage(13, 5, BufferedImage.TYPE_BYTE_BINARY, new IndexColorModel(bits, n, g, g, g));
      for (int y = 0; y < 5; y++) {
        for (int x = 0; x < 13; x++) {
          b.getRaster().setSample(x, y, 0, r.nextInt(n));
        }
      }
      images.add(b);
      depths.add(8);
    }
    for (int i = 0; i < images.size(); i++) {
      assertStreamsAsImageIo(writeWithImageIo(images.get(i), "imageio" + i + ".png"), depths.get(i));
    }
  }

  @Test
  void kodakImagesMatchImageIo() throws Exception {
    int n = 0;
    try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(ReferenceData.data("kodak"))) {
      for (Path p : files.filter(f -> f.toString().endsWith(".png")).sorted().toList()) {
        assertStreamsAsImageIo(p, 8);
        n++;
      }
    }
    assertTrue(n >= 8, "Kodak images found: " + n);
  }

  @Test
  void interlacedPngsFallBackToImageIo() throws Exception {
    BufferedImage b = new BufferedImage(19, 11, BufferedImage.TYPE_3BYTE_BGR);
    Random r = new Random(2);
    for (int y = 0; y < 11; y++) {
      for (int x = 0; x < 19; x++) {
        b.setRGB(x, y, r.nextInt());
      }
    }
    Path p = tmp.resolve("adam7.png");
    ImageWriter w = ImageIO.getImageWritersByFormatName("png").next();
    try (ImageOutputStream o = ImageIO.createImageOutputStream(p.toFile())) {
      w.setOutput(o);
      ImageWriteParam param = w.getDefaultWriteParam();
      param.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
      w.write(null, new IIOImage(b, null, null), param);
    } finally {
      w.dispose();
    }
    assertEquals(1, Files.readAllBytes(p)[28], "interlace method byte of IHDR: Adam7");
    assertNull(PngReader.read(p, true));
    assertArrayEquals(imageIoReference(p), Images.read(p).toFloatArray());
    HostTensor compact = Images.readCompact(p);
    assertEquals(DataType.UINT8, compact.dataType());
    long[] v = compact.toLongArray();
    float[] ref = imageIoReference(p);
    for (int i = 0; i < v.length; i++) {
      assertEquals(ref[i], v[i] / 255f, "sample " + i);
    }
  }

  @Test
  void otherFormatsAreReadCompactThroughImageIo() throws Exception {
    BufferedImage b = new BufferedImage(10, 6, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 6; y++) {
      for (int x = 0; x < 10; x++) {
        b.setRGB(x, y, x * 0x1f0b03 + y * 0x030b1f);
      }
    }
    Path bmp = tmp.resolve("a.bmp");
    assertTrue(ImageIO.write(b, "bmp", bmp.toFile()));
    assertNull(PngReader.read(bmp, true), "not a PNG: left to javax.imageio");
    HostTensor compact = Images.readCompact(bmp);
    assertEquals(DataType.UINT8, compact.dataType());
    float[] ref = Images.read(bmp).toFloatArray();
    long[] v = compact.toLongArray();
    for (int i = 0; i < v.length; i++) {
      assertEquals(ref[i], v[i] / 255f, "sample " + i);
    }
  }
}
