package ai.taco.core.bitstream;

import ai.taco.core.error.BitstreamException;
import ai.taco.core.files.InputFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;

/** Reading a compressed file from disk, shared by the file kinds. */
final class BitstreamFiles {
  private BitstreamFiles() {}

  /** Reads {@code file} and parses it with {@code parser}; every error names the file. */
  static <T> T readFile(Path file, Function<byte[], T> parser) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new BitstreamException(file + ": cannot read (" + InputFiles.reason(e) + ")", e);
    }
    try {
      return parser.apply(bytes);
    } catch (BitstreamException e) {
      throw new BitstreamException(file + ": " + e.getMessage(), e);
    }
  }
}
