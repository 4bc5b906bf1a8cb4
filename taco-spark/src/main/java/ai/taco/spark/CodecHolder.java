package ai.taco.spark;

import ai.taco.core.TacoCodec;
import ai.taco.eval.codec.CodecSpec;
import ai.taco.core.EncodeOptions;
import ai.taco.core.bitstream.ScaleTable;
import ai.taco.core.bitstream.CodedImage;
import ai.taco.core.bitstream.CompressAiFile;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.image.Images;
import ai.taco.core.bitstream.TacoFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every call into the codec and its loaders that the Spark jobs make, in one place. Executor side: a codec is loaded
 * once per JVM (on the first task that needs it) and shared by all task threads, which {@link TacoCodec} allows
 * (each call works in its own native memory scope, released when the call returns).
 */
final class CodecHolder {

  /** Codec settings -> the codec, for the life of the executor JVM. */
  private static final Map<CodecSpec, TacoCodec> CODECS = new ConcurrentHashMap<>();

  private CodecHolder() {}

  /** The executor's codec for these settings, loaded by the first caller. */
  static TacoCodec codec(CodecSpec spec) {
    return CODECS.computeIfAbsent(spec, CodecSpec::build);
  }

  /** Frees every codec this JVM holds (the driver in local mode, after a job). */
  static void releaseAll() {
    CODECS.values().forEach(TacoCodec::close);
    CODECS.clear();
  }

  /** A compressed image: its size and the complete file ({@code .taco} container or official {@code .bin}). */
  record Compressed(int height, int width, byte[] file) {}

  /**
   * Compresses an image read by {@link #readImage}.
   *
   * @param format "taco" or "compressai"
   */
  static Compressed compress(TacoCodec codec, HostTensor x, HostTensor caption, String format) {
    EncodeOptions options = format.equals("compressai") ? EncodeOptions.official() : EncodeOptions.DEFAULT;
    CodedImage f = codec.compress(x, caption, options);
    return new Compressed(f.height(), f.width(), f.toBytes());
  }

  /**
   * Decodes a {@code .taco} container (with the scale table it records) or an official {@code .bin} (with
   * {@code scaleTable}, or the default table if null) to PNG bytes, as {@code taco decompress} writes them.
   */
  static Decompressed decompress(CodecSpec spec, String scaleTable, byte[] file) {
    HostTensor y;
    if (TacoFile.hasMagic(file)) {
      TacoFile f = TacoFile.parse(file);
      if (scaleTable != null && ScaleTable.fromId(scaleTable) != f.scaleTable()) {
        throw new IllegalArgumentException("the file records the " + f.scaleTable().id() + " scale table; --scale-table "
            + scaleTable + " contradicts it");
      }
      y = codec(spec.withScaleTable(f.scaleTable().id())).decompress(f);
    } else {
      CompressAiFile f = CompressAiFile.parse(file);
      String table = scaleTable == null ? ScaleTable.defaultTable().id() : scaleTable;
      y = codec(spec.withScaleTable(table)).decompress(f);
    }
    long[] s = y.shape();
    int h = Math.toIntExact(s[s.length - 2]);
    int w = Math.toIntExact(s[s.length - 1]);
    Path tmp = null;
    try {
      tmp = Files.createTempFile("taco-spark-", ".png");
      Images.writePngRows(y, tmp, true); // the writer `taco decompress` uses: the same bytes
      return new Decompressed(h, w, Files.readAllBytes(tmp));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write a temporary PNG: " + e.getMessage(), e);
    } finally {
      deleteQuietly(tmp);
    }
  }

  /** A decoded image as PNG bytes (as {@code taco decompress} writes it). */
  record Decompressed(int height, int width, byte[] png) {}

  /**
   * Reads the image exactly as {@code taco compress} does ({@link Images#read} of a file: the bytes are written to a
   * temporary file first).
   */
  static HostTensor readImage(byte[] bytes, String name) {
    String suffix = name.contains(".") ? name.substring(name.lastIndexOf('.')) : ".img";
    Path tmp = null;
    try {
      tmp = Files.createTempFile("taco-spark-", suffix.replaceAll("[^A-Za-z0-9.]", ""));
      Files.write(tmp, bytes);
      return Images.read(tmp);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write a temporary copy of " + name + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      // Name the source, not the temporary copy.
      throw new ImageReadException(name + ": " + stripTmp(e.getMessage(), tmp), e);
    } finally {
      deleteQuietly(tmp);
    }
  }

  private static String stripTmp(String message, Path tmp) {
    if (message == null) {
      return "unreadable image";
    }
    return tmp == null ? message : message.replace(tmp.toString() + ": ", "").replace(tmp.toString(), "");
  }

  private static void deleteQuietly(Path p) {
    if (p != null) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException ignored) {
        // a stray temporary file is harmless
      }
    }
  }

  /** An input image that could not be read (the message names the source file). */
  static final class ImageReadException extends ai.taco.core.error.TacoException {
    private static final long serialVersionUID = 1L;

    ImageReadException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
