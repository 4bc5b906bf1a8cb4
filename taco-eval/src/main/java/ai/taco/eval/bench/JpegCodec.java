package ai.taco.eval.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Iterator;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;

/**
 * The JPEG baseline: the JDK's javax.imageio baseline JPEG encoder (libjpeg-derived, YCbCr with 4:2:0 chroma
 * subsampling, standard Annex K tables scaled by the quality) at one quality. The rate is the whole JFIF file.
 */
public final class JpegCodec implements ImageCodec {

  private final int quality;

  /** @param quality 1..100, mapped to ImageIO's compression quality quality/100 */
  public JpegCodec(int quality) {
    if (quality < 1 || quality > 100) {
      throw new BenchmarkException("JPEG quality must be in 1..100, got " + quality);
    }
    this.quality = quality;
  }

  public int quality() {
    return quality;
  }

  @Override
  public String name() {
    return "JPEG";
  }

  @Override
  public String setting() {
    return "q=" + quality;
  }

  @Override
  public java.util.Map<String, String> configuration() {
    return java.util.Map.of("encoder", "javax.imageio JPEG, quality " + quality + "/100");
  }

  @Override
  public String extension() {
    return "jpg";
  }

  @Override
  public byte[] encode(RgbImage image, TextEmbedding text) {
    Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName("jpeg");
    if (!writers.hasNext()) {
      throw new BenchmarkException("this JDK has no JPEG writer");
    }
    ImageWriter writer = writers.next();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ImageOutputStream out = ImageIO.createImageOutputStream(bytes)) {
      ImageWriteParam param = writer.getDefaultWriteParam();
      param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
      param.setCompressionQuality(quality / 100f);
      writer.setOutput(out);
      writer.write(null, new IIOImage(image.toBufferedImage(), null, null), param);
    } catch (IOException e) {
      throw new BenchmarkException("JPEG encoding failed: " + e.getMessage(), e);
    } finally {
      writer.dispose();
    }
    return bytes.toByteArray();
  }

  @Override
  public RgbImage decode(byte[] bitstream) {
    return RgbImage.decode(bitstream, "JPEG bitstream");
  }
}
