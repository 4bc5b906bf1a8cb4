package ai.taco.core.image;

import ai.taco.core.error.ImageException;
import ai.taco.core.error.WeightsException;
import ai.taco.core.weights.StateDict;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.zip.DeflaterOutputStream;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Images that overflowed the size arithmetic or decoded to wrong colours, and inputs that are not files. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HostileImageTest {
  @TempDir Path tmp;

  /** A valid all-black 1-bit grayscale PNG of {@code side}×{@code side} (tiny: the rows deflate to almost nothing). */
  static byte[] blackPng(int side) throws IOException {
    ByteArrayOutputStream png = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(png);
    out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
    ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
    DataOutputStream h = new DataOutputStream(ihdr);
    h.writeInt(side);
    h.writeInt(side);
    h.write(new byte[] {1, 0, 0, 0, 0}); // bit depth 1, grayscale, deflate, no filter method, no interlace
    PngCraft.chunk(png, "IHDR", ihdr.toByteArray());
    ByteArrayOutputStream idat = new ByteArrayOutputStream();
    byte[] row = new byte[1 + (side + 7) / 8]; // filter byte 0, then zeros
    try (DeflaterOutputStream z = new DeflaterOutputStream(idat)) {
      for (int y = 0; y < side; y++) {
        z.write(row);
      }
    }
    PngCraft.chunk(png, "IDAT", idat.toByteArray());
    PngCraft.chunk(png, "IEND", new byte[0]);
    return png.toByteArray();
  }

  @Test
  void aValidSixteenKPngWithinTheSideLimitIsRefusedNamingSizeAndLimit() throws IOException {
    Path p = tmp.resolve("16k.png");
    Files.write(p, blackPng(16384));
    assertTrue(Files.size(p) < 1 << 20, "crafted PNG is small: " + Files.size(p));
    ImageException e = assertThrows(ImageException.class, () -> Images.read(p));
    String m = e.getMessage();
    assertTrue(m.startsWith(p.toString()) && m.contains("16384x16384") && m.contains(Images.MAX_PIXELS + " pixels"), m);
    assertFalse(m.contains("\n"), m);
  }

  @Test
  void aSmallCraftedPngDecodesToBlack() throws IOException {
    Path p = tmp.resolve("small.png");
    Files.write(p, blackPng(9));
    assertArrayEquals(new float[3 * 81], Images.read(p).toFloatArray());
  }

  /** A 4-channel JPEG as javax.imageio writes a raster (no Adobe marker: read as CMYK). */
  private static byte[] fourChannelJpeg() throws IOException {
    WritableRaster r = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, 16, 16, 4, null);
    for (int y = 0; y < 16; y++) {
      for (int x = 0; x < 16; x++) {
        r.setPixel(x, y, new int[] {200, 30, 60, 10});
      }
    }
    ImageWriter w = ImageIO.getImageWritersByFormatName("jpeg").next();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ImageOutputStream o = ImageIO.createImageOutputStream(bytes)) {
      w.setOutput(o);
      w.write(null, new IIOImage(r, null, null), null);
    } finally {
      w.dispose();
    }
    return bytes.toByteArray();
  }

  /** Inserts an Adobe APP14 segment (transform 0: inverted CMYK; 2: YCCK) after the SOI marker. */
  private static byte[] withAdobe(byte[] jpeg, int transform) {
    byte[] app14 = {(byte) 0xff, (byte) 0xee, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, (byte) transform};
    byte[] out = new byte[jpeg.length + app14.length];
    System.arraycopy(jpeg, 0, out, 0, 2);
    System.arraycopy(app14, 0, out, 2, app14.length);
    System.arraycopy(jpeg, 2, out, 2 + app14.length, jpeg.length - 2);
    return out;
  }

  @Test
  void cmykAndYcckJpegsAreRefusedNotGuessed() throws IOException {
    byte[] plain = fourChannelJpeg();
    byte[][] variants = {plain, withAdobe(plain, 0), withAdobe(plain, 2)};
    String[] names = {"cmyk.jpg", "adobe-inverted-cmyk.jpg", "ycck.jpg"};
    for (int i = 0; i < variants.length; i++) {
      Path p = tmp.resolve(names[i]);
      Files.write(p, variants[i]);
      ImageException e = assertThrows(ImageException.class, () -> Images.read(p), names[i]);
      String m = e.getMessage();
      assertTrue(m.startsWith(p.toString()) && m.contains("CMYK") && m.contains("convert it to RGB"), m);
    }
  }

  @Test
  void devicesAndFifosAreNamedAsSuchNotAsMissing() throws IOException, InterruptedException {
    Path zero = Path.of("/dev/zero");
    Assumptions.assumeTrue(Files.exists(zero));
    ImageException e = assertThrows(ImageException.class, () -> Images.read(zero));
    assertTrue(e.getMessage().contains("is not a regular file"), e.getMessage());
    WeightsException w = assertThrows(WeightsException.class, () -> StateDict.load(zero));
    assertTrue(w.getMessage().contains("is not a regular file"), w.getMessage());
    Path fifo = tmp.resolve("fifo");
    Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
    Assumptions.assumeTrue(mk.waitFor() == 0);
    e = assertThrows(ImageException.class, () -> Images.read(fifo));
    assertTrue(e.getMessage().contains("is not a regular file"), e.getMessage());
  }
}
