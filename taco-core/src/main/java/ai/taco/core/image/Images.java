package ai.taco.core.image;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.error.ImageException;
import ai.taco.core.files.AtomicFiles;
import ai.taco.core.files.InputFiles;
import ai.taco.core.tensor.HostTensor;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Image files to and from float tensors {@code [1, 3, H, W]} in [0, 1] (the official code's {@code
 * ToTensor()(Image.open(p).convert('RGB'))} and {@code round(clamp(x, 0, 1) * 255)} PNG output).
 *
 * <p>Pixels are read with javax.imageio from the raw raster samples, because DJL's image loader silently reduces
 * 16-bit PNGs through a colour conversion. 8-bit RGB is exact ({@code v / 255}); grayscale is replicated to three
 * channels, alpha is dropped (as PIL's {@code convert('RGB')}), 16-bit samples are scaled by {@code 1/65535} and palette
 * images are expanded; each of these conversions logs a warning. Non-interlaced PNGs are decoded row by row by {@link
 * PngReader} into the same values, without a full-size {@code BufferedImage}; other files go through javax.imageio.
 * {@link #readCompact(Path)} keeps 8-bit samples as bytes (a quarter of the float planes' memory) for the encoder.
 */
public final class Images {
  private static final Logger LOG = LoggerFactory.getLogger(Images.class);

  /** Largest accepted side: keeps 3·H·W floats addressable by one Java array. */
  static final int MAX_SIDE = 1 << 15;

  /**
   * Most pixels one image may have: its three float32 planes ({@code 12·H·W} bytes) must fit in one {@link HostTensor}
   * buffer, which a Java {@link java.nio.ByteBuffer} limits to 2^31-1 bytes (about 13377×13377).
   */
  static final long MAX_PIXELS = Integer.MAX_VALUE / (3L * Float.BYTES);

  /**
   * Most pixels a {@link #readCompact(Path) compact} image may have: its three 8-bit planes ({@code 3·H·W} bytes) must
   * fit one Java array (about 26754×26754).
   */
  static final long MAX_COMPACT_PIXELS = Integer.MAX_VALUE / 3L;

  /**
   * Default limit on an image's W×H, checked from its header before any pixel is decoded: Pillow's
   * decompression-bomb error threshold ({@code 2 * Image.MAX_IMAGE_PIXELS} = 2 × 89,478,485), so a file Pillow
   * opens is accepted here too, a 100-megapixel photograph codes, and a tiny file declaring 16384×16384 (268 million
   * pixels, minutes of work and many GiB) is refused. 0 in any {@code maxPixels} parameter means no limit.
   */
  public static final long DEFAULT_MAX_PIXELS = 2 * 89_478_485L;

  private Images() {}

  /**
   * Reads an image as float32 {@code [1, 3, H, W]} in [0, 1].
   *
   * @throws ImageException naming the file if it is missing, empty, not an image in a format javax.imageio reads,
   *     corrupt or truncated, or has a zero or over-large size
   */
  public static HostTensor read(Path file) {
    return read(file, false, DEFAULT_MAX_PIXELS);
  }

  /** {@link #read(Path)} with a limit on W×H ({@code 0}: none), checked from the header before decoding. */
  public static HostTensor read(Path file, long maxPixels) {
    return read(file, false, maxPixels);
  }

  /**
   * Reads an image for the encoder in the least memory that holds it exactly: 8-bit-per-sample images (8-bit RGB or
   * gray, palette, 1/2/4-bit gray) as UINT8 {@code [1, 3, H, W]} with values 0..255 (3 bytes per pixel; gray
   * replicated, alpha dropped, palette expanded, as {@link #read(Path)}), which {@link ai.taco.core.TacoCodec#compress}
   * takes as {@code v / 255}; images with more bits per sample (16-bit PNGs) as {@link #read(Path)} returns them,
   * float32 in [0, 1]. Non-interlaced PNGs are decoded row by row, without a full-size {@code BufferedImage}; other
   * formats through javax.imageio.
   *
   * <p>{@code readCompact(f)} converted to float32 and divided by 255 equals {@code read(f)} bit for bit.
   *
   * @throws ImageException as {@link #read(Path)} does; the size limit of an 8-bit image is its byte planes' ({@value
   *     #MAX_COMPACT_PIXELS} pixels) instead of its float planes'
   */
  public static HostTensor readCompact(Path file) {
    return read(file, true, DEFAULT_MAX_PIXELS);
  }

  /** {@link #readCompact(Path)} with a limit on W×H ({@code 0}: none), checked from the header before decoding. */
  public static HostTensor readCompact(Path file, long maxPixels) {
    return read(file, true, maxPixels);
  }

  private static HostTensor read(Path file, boolean compact, long maxPixels) {
    if (maxPixels < 0) {
      throw new IllegalArgumentException("maxPixels must be >= 0 (0: no limit), got " + maxPixels);
    }
    try {
      requireNonEmptyFile(file);
      HostTensor png = PngReader.read(file, compact, maxPixels);
      return png != null ? png : toTensor(file, decode(file, compact, maxPixels), compact);
    } catch (OutOfMemoryError e) {
      // One big allocation (the decoded raster or the planes) that this heap cannot hold: report, not crash.
      throw new ImageException(file + ": image too large for this JVM's heap (" + (Runtime.getRuntime().maxMemory() >> 20)
          + " MB; raise it with -Xmx, e.g. TACO_JAVA_OPTS=-Xmx8g)", e);
    }
  }

  /** The image as planes: bytes if {@code compact} and its samples have at most 8 bits, float32 in [0, 1] otherwise. */
  private static HostTensor toTensor(Path file, BufferedImage image, boolean compact) {
    int w = image.getWidth();
    int h = image.getHeight();
    ColorModel cm = image.getColorModel();
    requireRgbOrGray(file, cm);
    Raster raster = image.getRaster();
    int[] rgb = new int[3 * w];
    if (cm instanceof ComponentColorModel
        && (cm.getNumColorComponents() == 3 || cm.getNumColorComponents() == 1)) {
      int bands = raster.getNumBands();
      int colors = cm.getNumColorComponents();
      int bits = cm.getComponentSize(0);
      for (int b = 1; b < colors; b++) {
        if (cm.getComponentSize(b) != bits) {
          throw new ImageException(file + ": unsupported image (channels of different bit depths)");
        }
      }
      Planes out = Planes.allocate(file, w, h, compact && bits == 8, bits);
      warnIfConverted(file, colors, cm.hasAlpha(), bits);
      int[] row = new int[w * bands];
      for (int y = 0; y < h; y++) {
        raster.getPixels(0, y, w, 1, row);
        for (int x = 0; x < w; x++) {
          for (int c = 0; c < 3; c++) {
            rgb[3 * x + c] = row[x * bands + (colors == 1 ? 0 : c)];
          }
        }
        out.row(y, rgb);
      }
      return out.tensor();
    }
    // Palette, packed-int (BMP, GIF, ...) and other layouts: 8-bit sRGB through the colour model.
    Planes out = Planes.allocate(file, w, h, compact, 8);
    if (cm instanceof IndexColorModel) {
      warnPalette(file);
    } else if (cm.hasAlpha()) {
      LOG.warn("{}: alpha channel dropped", file);
    }
    int[] argb = new int[w];
    for (int y = 0; y < h; y++) {
      image.getRGB(0, y, w, 1, argb, 0, w);
      for (int x = 0; x < w; x++) {
        int p = argb[x];
        rgb[3 * x] = (p >> 16) & 0xff;
        rgb[3 * x + 1] = (p >> 8) & 0xff;
        rgb[3 * x + 2] = p & 0xff;
      }
      out.row(y, rgb);
    }
    return out.tensor();
  }

  /**
   * The planes {@code [1, 3, H, W]} of an image being read row by row: UINT8 samples, or float32 {@code sample /
   * (2^bits − 1)} (the division in float, as {@code ToTensor} and every earlier version of this class compute it). The
   * output buffer is filled in place, so the tensor costs no copy of it.
   */
  static final class Planes {
    private final int w;
    private final int plane;
    private final byte[] bytes;
    private final ByteBuffer floatBytes;
    private final FloatBuffer floats;
    private final float scale;

    private Planes(int w, int h, boolean compact, int bits) {
      this.w = w;
      this.plane = w * h;
      this.scale = (float) ((1L << bits) - 1);
      if (compact) {
        bytes = new byte[3 * plane];
        floatBytes = null;
        floats = null;
      } else {
        bytes = null;
        floatBytes = ByteBuffer.allocate(3 * plane * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        floats = floatBytes.asFloatBuffer();
      }
    }

    /**
     * Checks the size against the limit of the planes (bytes if {@code compact}, floats otherwise), then allocates.
     *
     * @param bits bits per sample of the rows {@link #row} will get (8 for bytes)
     */
    static Planes allocate(Path file, int w, int h, boolean compact, int bits) {
      requireHoldable(file, w, h, compact, 0); // the caller's pixel limit was checked at the header
      if (compact && bits != 8) {
        throw new IllegalArgumentException("byte planes hold 8-bit samples, not " + bits + "-bit");
      }
      return new Planes(w, h, compact, bits);
    }

    /** Stores row {@code y} given as {@code 3·W} interleaved R G B samples. */
    void row(int y, int[] rgb) {
      int base = y * w;
      for (int c = 0; c < 3; c++) {
        int off = c * plane + base;
        if (bytes != null) {
          for (int x = 0; x < w; x++) {
            bytes[off + x] = (byte) rgb[3 * x + c];
          }
        } else {
          for (int x = 0; x < w; x++) {
            floats.put(off + x, rgb[3 * x + c] / scale);
          }
        }
      }
    }

    HostTensor tensor() {
      long h = plane / w;
      return bytes != null
          ? new HostTensor(DataType.UINT8, new long[] {1, 3, h, w}, ByteBuffer.wrap(bytes))
          : new HostTensor(DataType.FLOAT32, new long[] {1, 3, h, w}, floatBytes);
    }
  }

  /**
   * Refuses an image whose planes (bytes if {@code compact}, else floats) cannot be held, or that is above {@code
   * maxPixels} (0: no limit), naming size and limit.
   */
  static void requireHoldable(Path file, int w, int h, boolean compact, long maxPixels) {
    long max = compact ? MAX_COMPACT_PIXELS : MAX_PIXELS;
    if (w > MAX_SIDE || h > MAX_SIDE || (long) w * h > max) {
      throw new ImageException(file + ": image of " + w + "x" + h + " (" + (long) w * h + " pixels) is too large: at"
          + " most " + MAX_SIDE + " per side and " + max + " pixels (its " + (compact ? "8-bit" : "float32")
          + " planes must fit one 2 GiB buffer); tile or downscale it");
    }
    // After the hard limit: raising this one would not help an image that cannot be held.
    requireWithinLimit(file + ": image", w, h, maxPixels);
  }

  /**
   * Refuses colour spaces other than RGB and gray. CMYK and YCCK JPEGs (Adobe-inverted or not) are decoded by
   * javax.imageio into a device CMYK space whose conversion to RGB ignores the printing profile: colours come out
   * visibly wrong, so they are refused rather than guessed.
   */
  private static void requireRgbOrGray(Path file, ColorModel cm) {
    int type = cm.getColorSpace().getType();
    if (type == ColorSpace.TYPE_RGB || type == ColorSpace.TYPE_GRAY) {
      return;
    }
    String what = type == ColorSpace.TYPE_CMYK ? "CMYK (or YCCK)" : type == ColorSpace.TYPE_YCbCr ? "YCbCr"
        : "non-RGB (colour space type " + type + ")";
    throw new ImageException(file + ": " + what + " image: its RGB colours cannot be derived without a colour"
        + " profile; convert it to RGB first (e.g. an sRGB PNG)");
  }

  /** {@link #read(Path)} as an NDArray attached to {@code manager}. */
  public static NDArray read(NDManager manager, Path file) {
    return read(file).toNDArray(manager);
  }

  static void warnPalette(Path file) {
    LOG.warn("{}: palette image expanded to 8-bit RGB", file);
  }

  static void warnIfConverted(Path file, int colors, boolean alpha, int bits) {
    List<String> what = new ArrayList<>();
    if (colors == 1) {
      what.add("grayscale replicated to RGB");
    }
    if (alpha) {
      what.add("alpha channel dropped");
    }
    if (bits != 8) {
      what.add(bits + "-bit samples scaled to [0, 1] by 1/" + ((1L << bits) - 1));
    }
    if (!what.isEmpty()) {
      LOG.warn("{}: {}", file, String.join(", ", what));
    }
  }

  private static void requireNonEmptyFile(Path file) {
    InputFiles.requireRegular(file, "image file", ImageException::new);
    try {
      if (Files.size(file) == 0) {
        throw new ImageException(file + ": empty file, not an image");
      }
    } catch (IOException e) {
      throw new ImageException(file + ": cannot read (" + InputFiles.reason(e) + ")", e);
    }
  }

  /** javax.imageio's decoding, refusing (before decoding) a size whose planes, compact or not, cannot be held. */
  /**
   * Refuses a declared W×H above {@code maxPixels} ({@code 0}: no limit) with one line naming the size, the limit and
   * how to raise it.
   *
   * @param what the subject of the message, e.g. {@code "photo.png: image"}
   */
  public static void requireWithinLimit(String what, long w, long h, long maxPixels) {
    if (maxPixels > 0 && (double) w * h > maxPixels) {
      throw new ImageException(what + " of " + w + "x" + h + " (" + Math.round((double) w * h) + " pixels) is above the"
          + " limit of " + maxPixels + " pixels; raise it with --max-pixels N (0 = no limit) or"
          + " TacoCodec.Builder.optMaxPixels / Images.read*(file, maxPixels)");
    }
  }

  private static BufferedImage decode(Path file, boolean compact, long maxPixels) {
    try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
      if (in == null) {
        throw new ImageException(file + ": cannot open");
      }
      Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) {
        throw new ImageException(file + ": not an image in a supported format (PNG, JPEG, BMP, GIF, ...)");
      }
      ImageReader reader = readers.next();
      List<String> warnings = new ArrayList<>();
      reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
      try {
        reader.setInput(in, true, true);
        int w = reader.getWidth(0);
        int h = reader.getHeight(0);
        if (w <= 0 || h <= 0) {
          throw new ImageException(file + ": image has zero size (" + w + "x" + h + ")");
        }
        requireHoldable(file, w, h, compact, maxPixels);
        BufferedImage image = reader.read(0);
        // A truncated JPEG decodes with a warning ("Premature end of JPEG file") and grey filler: refuse it.
        if (!warnings.isEmpty()) {
          throw new ImageException(file + ": corrupt or truncated image (" + String.join("; ", warnings) + ")");
        }
        return image;
      } finally {
        reader.dispose();
      }
    } catch (ImageException e) {
      throw e;
    } catch (IOException e) {
      throw new ImageException(file + ": corrupt or unreadable image (" + InputFiles.reason(e) + ")", e);
    } catch (RuntimeException e) {
      throw new ImageException(file + ": corrupt or unreadable image (" + e.getMessage() + ")", e);
    }
  }

  /**
   * Writes {@code [1, 3, H, W]} or {@code [3, H, W]} floats as an 8-bit RGB PNG, each sample {@code round(clamp(x, 0,
   * 1) * 255)} in float32 with ties to even (torch.round), atomically (temporary file, then move).
   *
   * @param overwrite whether an existing file may be replaced
   * @throws ImageException if the file exists and {@code overwrite} is false, a value is NaN, or writing fails
   */
  public static void writePng(HostTensor image, Path file, boolean overwrite) {
    long[] s = image.shape();
    boolean ok = (s.length == 4 && s[0] == 1 && s[1] == 3) || (s.length == 3 && s[0] == 3);
    if (!ok) {
      throw new IllegalArgumentException("expected an image of shape [1, 3, H, W] or [3, H, W], got "
          + java.util.Arrays.toString(s));
    }
    int h = Math.toIntExact(s[s.length - 2]);
    int w = Math.toIntExact(s[s.length - 1]);
    writePng(image.toFloatArray(), h, w, file, overwrite);
  }

  /**
   * Writes the PNG {@link #writePng(HostTensor, Path, boolean)} writes, byte for byte, row by row from the tensor: no
   * full-size image is built on the way (large decoded images).
   */
  public static void writePngRows(HostTensor image, Path file, boolean overwrite) {
    PngRows.write(image, file, overwrite);
  }

  /**
   * Writes the same PNG as {@link #writePngRows(HostTensor, Path, boolean)}, byte for byte, from an image that arrives
   * in horizontal bands: {@code bands} is called once with a sink taking planar float bands [3,rows,W] (or
   * [1,3,rows,W]) top to bottom, e.g. {@code sink -> codec.decompress(file, DecodeOptions.DEFAULT, sink)}; each band is
   * encoded as it comes, so only one band and two PNG rows are held. Atomic like every writer here: if {@code bands}
   * throws, or the rows do not add up to {@code height}, no file is left behind (the exception propagates).
   *
   * @throws ImageException if a band is not [3,rows,{@code width}], holds NaN, or the rows are not {@code height}
   */
  public static void writePngRows(
      Path file, boolean overwrite, int width, int height, Consumer<Consumer<HostTensor>> bands) {
    java.util.Objects.requireNonNull(bands, "bands");
    if (width <= 0 || height <= 0) {
      throw new IllegalArgumentException("bad PNG size " + width + "x" + height);
    }
    AtomicFiles.write(file, overwrite, o -> PngRows.writeBands(o, width, height, bands), ImageException::new);
  }

  /** {@link #writePng(HostTensor, Path, boolean)} for an NDArray. */
  public static void writePng(NDArray image, Path file, boolean overwrite) {
    writePng(HostTensor.fromNDArray(image.toType(DataType.FLOAT32, false)), file, overwrite);
  }

  /** {@link #writePng(HostTensor, Path, boolean)} for planar RGB floats {@code chw} of an H×W image. */
  public static void writePng(float[] chw, int h, int w, Path file, boolean overwrite) {
    if (h <= 0 || w <= 0 || chw.length != 3L * h * w) {
      throw new IllegalArgumentException("need 3*" + h + "*" + w + " values, got " + chw.length);
    }
    BufferedImage out = toBufferedImage(chw, h, w);
    AtomicFiles.write(
        file,
        overwrite,
        o -> {
          if (!ImageIO.write(out, "png", o)) {
            throw new IOException("no PNG writer available");
          }
        },
        ImageException::new);
  }

  /** round(clamp(v, 0, 1) * 255) in float32, ties to even (torch.round semantics). */
  static int toByte(float v) {
    if (Float.isNaN(v)) {
      throw new ImageException("image contains NaN values");
    }
    float c = Math.min(Math.max(v, 0f), 1f);
    return (int) Math.rint(c * 255f);
  }

  /**
   * Pads {@code [N, C, H, W]} with zeros on the right and bottom to multiples of {@code multiple}, as the official
   * evaluation does before compressing (64 for TACO).
   */
  public static NDArray pad(NDArray x, int multiple) {
    Shape s = x.getShape();
    long h = s.get(2);
    long w = s.get(3);
    long ph = (multiple - h % multiple) % multiple;
    long pw = (multiple - w % multiple) % multiple;
    if (ph == 0 && pw == 0) {
      return x;
    }
    return x.pad(new Shape(0, pw, 0, ph), 0);
  }

  /** The top-left {@code h × w} of {@code [N, C, H, W]} (undoes {@link #pad}). */
  public static NDArray crop(NDArray x, long h, long w) {
    return x.get(new NDIndex(":, :, :{}, :{}", h, w));
  }

  // ---------------------------------------------------------------------------------------------- in-memory images

  /** Names an in-memory image in warnings and errors. */
  private static final Path IN_MEMORY = Path.of("<in-memory image>");

  /**
   * An AWT image as float32 {@code [1, 3, H, W]} in [0, 1], converted as {@link #read(Path)} converts a decoded file
   * (8- and 16-bit samples exactly, grayscale replicated, alpha dropped).
   */
  public static HostTensor fromBufferedImage(BufferedImage image) {
    if (image.getWidth() > MAX_SIDE || image.getHeight() > MAX_SIDE) {
      throw new ImageException("image of " + image.getWidth() + "x" + image.getHeight() + " is too large (max side "
          + MAX_SIDE + ")");
    }
    return toTensor(IN_MEMORY, image, false);
  }

  /**
   * A DJL image as float32 {@code [1, 3, H, W]} in [0, 1]: an AWT-backed image through {@link
   * #fromBufferedImage} (exact for 16-bit samples), any other through its 8-bit RGB {@code toNDArray}.
   */
  public static HostTensor fromImage(ai.djl.modality.cv.Image image) {
    if (image.getWrappedImage() instanceof BufferedImage b) {
      return fromBufferedImage(b);
    }
    try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
      NDArray hwc = image.toNDArray(m, ai.djl.modality.cv.Image.Flag.COLOR);
      NDArray chw = hwc.toType(DataType.FLOAT32, false).div(255f).transpose(2, 0, 1).expandDims(0);
      return HostTensor.fromNDArray(chw);
    }
  }

  /**
   * An image {@code [1, 3, H, W]} or {@code [3, H, W]} as an 8-bit RGB AWT image, each value rounded as {@link
   * #writePng(HostTensor, Path, boolean)} does (clamped to [0, 1], times 255, ties to even).
   *
   * @throws ImageException if a value is NaN
   */
  public static BufferedImage toBufferedImage(HostTensor image) {
    long[] s = image.shape();
    boolean ok = (s.length == 4 && s[0] == 1 && s[1] == 3) || (s.length == 3 && s[0] == 3);
    if (!ok) {
      throw new IllegalArgumentException("expected an image of shape [1, 3, H, W] or [3, H, W], got "
          + java.util.Arrays.toString(s));
    }
    return toBufferedImage(image.toFloatArray(), Math.toIntExact(s[s.length - 2]), Math.toIntExact(s[s.length - 1]));
  }

  /** {@link #toBufferedImage(HostTensor)} as a DJL image. */
  public static ai.djl.modality.cv.Image toImage(HostTensor image) {
    return ai.djl.modality.cv.ImageFactory.getInstance().fromImage(toBufferedImage(image));
  }

  private static BufferedImage toBufferedImage(float[] chw, int h, int w) {
    BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    int plane = h * w;
    int[] row = new int[w];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int i = y * w + x;
        row[x] = toByte(chw[i]) << 16 | toByte(chw[plane + i]) << 8 | toByte(chw[2 * plane + i]);
      }
      out.setRGB(0, y, w, 1, row, 0, w);
    }
    return out;
  }
}
