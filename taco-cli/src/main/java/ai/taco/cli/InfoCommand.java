package ai.taco.cli;

import ai.taco.core.TacoCodec;
import ai.taco.core.bitstream.CompressAiFile;
import ai.taco.core.bitstream.TacoFile;
import ai.taco.core.error.BitstreamException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code taco info FILE}: the header of a TACO container or an official {@code .bin}, as JSON. */
@Command(
    name = "info",
    mixinStandardHelpOptions = true,
    description = {
      "Prints what a compressed file holds, as JSON on stdout: format and version, image size, latent shape, string",
      "lengths, bits per pixel, scale table and weights fingerprint (TACO container), after checking its integrity.",
      "Reads the TACO container (docs/bitstream.md) and the official TACO .bin layout (which records no scale table,",
      "fingerprint or checksum)."
    })
public final class InfoCommand implements TacoCommand {
  /** TACO's latent y is 4x the z resolution (h_a downsamples twice by 2); z is the image / 64. */
  static final int Y_PER_Z = 4;

  @Parameters(index = "0", paramLabel = "FILE", description = "A .taco container or an official .bin file.")
  Path file;

  @Spec CommandSpec spec;

  /** Picocli needs a public no-arg constructor. */
  public InfoCommand() {}

  @Override
  public Integer call() throws IOException {
    ai.taco.core.files.InputFiles.requireRegular(file, "compressed file", BitstreamException::new);
    byte[] bytes = Files.readAllBytes(file);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("file", file.toString());
    out.put("file_bytes", bytes.length);
    if (TacoFile.hasMagic(bytes)) {
      TacoFile f = parse(() -> TacoFile.parse(bytes));
      requireTacoGeometry(f.height(), f.width(), f.zHeight(), f.zWidth());
      out.put("format", "taco");
      out.put("version", bytes[4] & 0xff);
      geometry(out, f.height(), f.width(), f.zHeight(), f.zWidth());
      out.put("z_string_bytes", f.zString().length);
      out.put("y_string_bytes", f.yString().length);
      bpp(out, bytes.length, (long) f.zString().length + f.yString().length, f.height(), f.width());
      out.put("scale_table", f.scaleTable().id());
      out.put("weights_fingerprint", f.fingerprintHex());
      out.put("z_symbols_crc32c", String.format("%08x", f.zSymbolsCrc()));
      out.put("y_symbols_crc32c", String.format("%08x", f.ySymbolsCrc()));
    } else {
      CompressAiFile f;
      try {
        f = CompressAiFile.parse(bytes);
      } catch (BitstreamException e) {
        throw new BitstreamException(
            file + ": neither a TACO container (no 'TACO' magic) nor a valid official .bin (" + e.getMessage() + ")",
            e);
      }
      if (f.strings().size() != 2) {
        throw new BitstreamException(file + ": not a TACO .bin: it holds " + f.strings().size()
            + " strings, TACO writes 2 (y, z)");
      }
      requireTacoGeometry(f.height(), f.width(), f.zHeight(), f.zWidth());
      out.put("format", "compressai-bin");
      out.put("version", null);
      geometry(out, f.height(), f.width(), f.zHeight(), f.zWidth());
      List<byte[]> strings = f.strings();
      long payload = 0;
      if (strings.size() == 2) {
        out.put("z_string_bytes", strings.get(1).length);
        out.put("y_string_bytes", strings.get(0).length);
      }
      out.put("string_bytes", strings.stream().map(s -> s.length).toList());
      for (byte[] s : strings) {
        payload += s.length;
      }
      bpp(out, bytes.length, payload, f.height(), f.width());
      out.put("scale_table", null);
      out.put("weights_fingerprint", null);
    }
    PrintWriter w = spec.commandLine().getOut();
    w.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out));
    w.flush();
    return 0;
  }

  private interface Parser<T> {
    T parse();
  }

  private <T> T parse(Parser<T> p) {
    try {
      return p.parse();
    } catch (BitstreamException e) {
      throw new BitstreamException(file + ": " + e.getMessage(), e);
    }
  }

  /**
   * The decoder's rule (TacoCodec): z is the image padded to a multiple of {@link TacoCodec#PAD_MULTIPLE}, divided by
   * it. A header breaking it cannot be decoded, so info reports it instead of printing impossible shapes.
   */
  private void requireTacoGeometry(int h, int w, int zh, int zw) {
    long m = TacoCodec.PAD_MULTIPLE;
    if ((long) zh * m < h || (long) zw * m < w || (long) (zh - 1) * m >= h || (long) (zw - 1) * m >= w) {
      throw new BitstreamException(file + ": corrupt header: latent size " + zh + "x" + zw
          + " does not fit image size " + h + "x" + w + " (expected " + ((h + m - 1) / m) + "x" + ((w + m - 1) / m)
          + ")");
    }
  }

  private static void geometry(Map<String, Object> out, int h, int w, int zh, int zw) {
    out.put("height", h);
    out.put("width", w);
    out.put("z_shape", List.of(zh, zw));
    out.put("y_shape", List.of(zh * Y_PER_Z, zw * Y_PER_Z));
  }

  private static void bpp(Map<String, Object> out, long fileBytes, long payloadBytes, int h, int w) {
    double pixels = (double) h * w;
    // The official evaluation reports the file size (header included) per pixel.
    out.put("bpp", fileBytes * 8 / pixels);
    out.put("payload_bpp", payloadBytes * 8 / pixels);
  }
}
