package ai.taco.core.bitstream;

import ai.taco.core.error.BitstreamException;
import java.nio.file.Path;

/**
 * A compressed image in either file kind the codec reads: TACO-J's checked container ({@link TacoFile}, starts with
 * the magic {@code TACO}) or the official {@code .bin} layout ({@link CompressAiFile}, no magic). {@link #parse} and
 * {@link #read} tell them apart, so one decode entry takes both.
 */
public sealed interface CodedImage permits TacoFile, CompressAiFile {
  /** Original image height (before padding). */
  int height();

  /** Original image width. */
  int width();

  /** Latent z height. */
  int zHeight();

  /** Latent z width. */
  int zWidth();

  /** Size of the file in bytes. */
  long byteCount();

  /** The file's bytes. */
  byte[] toBytes();

  /** Writes the file atomically; refuses to replace an existing file unless {@code overwrite}. */
  void write(Path file, boolean overwrite);

  /**
   * Parses either file kind: a {@link TacoFile} if the bytes start with its magic, an official {@code .bin} otherwise.
   *
   * @throws BitstreamException if the bytes are not a valid file of that kind
   */
  static CodedImage parse(byte[] bytes) {
    return TacoFile.hasMagic(bytes) ? TacoFile.parse(bytes) : CompressAiFile.parse(bytes);
  }

  /** Reads and parses either file kind ({@link #parse}); errors name the file. */
  static CodedImage read(Path file) {
    return BitstreamFiles.readFile(file, CodedImage::parse);
  }
}
