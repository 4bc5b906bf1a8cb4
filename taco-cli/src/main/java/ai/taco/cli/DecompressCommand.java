package ai.taco.cli;

import ai.taco.eval.codec.CodecSpec;
import ai.taco.eval.options.CodecOptions;
import ai.taco.core.DecodeOptions;
import ai.taco.core.TacoCodec;
import ai.taco.core.bitstream.CodedImage;
import ai.taco.core.error.BitstreamException;
import ai.taco.core.bitstream.CompressAiFile;
import ai.taco.core.image.Images;
import ai.taco.core.bitstream.TacoFile;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code taco decompress}: TACO container or official {@code .bin} → PNG. No caption needed. */
@Command(
    name = "decompress",
    mixinStandardHelpOptions = true,
    description =
        "Decompresses a file written by 'taco compress' (or by the official TACO code: --format compressai) to an 8-bit"
            + " RGB PNG. The TACO container is checked first: weights fingerprint, scale table and the checksum of the"
            + " decoded symbols. Prints a JSON summary on stdout.")
public final class DecompressCommand implements TacoCommand {

  @Mixin CodecOptions codec;

  @Mixin OutputOptions output;

  @Option(names = "--in", required = true, paramLabel = "FILE", description = "Compressed file.")
  Path in;

  @Option(names = "--out", required = true, paramLabel = "IMG.png", description = "PNG image to write.")
  Path out;

  @Option(
      names = "--format",
      paramLabel = "FMT",
      defaultValue = "auto",
      description = "auto (default: TACO container if it starts with 'TACO', else official .bin), taco or compressai.")
  String format;

  @Spec CommandSpec spec;

  public DecompressCommand() {}

  @Override
  public Integer call() throws Exception {
    if (!format.equals("auto") && !format.equals("taco") && !format.equals("compressai")) {
      throw new IllegalArgumentException("unknown --format '" + format + "' (auto, taco, compressai)");
    }
    output.checkOutput(out, in);
    CodecSpec codecSpec = codec.spec();
    String scaleTable = codec.scaleTable();
    ai.taco.core.files.InputFiles.requireRegular(in, "compressed file", BitstreamException::new);
    byte[] bytes = Files.readAllBytes(in);
    boolean taco = format.equals("taco") || (format.equals("auto") && TacoFile.hasMagic(bytes));
    long t0 = System.nanoTime();
    CodedImage f;
    TacoCodec c;
    String table;
    if (taco) {
      TacoFile t = TacoFile.read(in);
      if (scaleTable != null && codecSpec.table() != t.scaleTable()) {
        throw new IllegalArgumentException(in + " records the " + t.scaleTable().id() + " scale table; --scale-table "
            + scaleTable + " contradicts it");
      }
      f = t;
      table = t.scaleTable().id();
      c = codecSpec.withScaleTable(table).build();
    } else {
      f = CompressAiFile.read(in);
      table = codecSpec.table().id();
      c = codecSpec.build();
    }
    try (c) {
      // Each band of rows is written as it is decoded: the whole image never exists at once, in native or Java memory.
      // A failure at any point (checksums before the first band, a broken band later) leaves no file behind.
      Images.writePngRows(out, output.force, f.width(), f.height(), bands -> c.decompress(f, DecodeOptions.DEFAULT, bands));
    }
    ObjectNode j = new ObjectMapper().createObjectNode();
    j.put("in", in.toString());
    j.put("out", out.toString());
    j.put("format", taco ? "taco" : "compressai");
    j.put("height", f.height());
    j.put("width", f.width());
    j.put("scale_table", table);
    j.put("seconds", (System.nanoTime() - t0) / 1e9);
    spec.commandLine().getOut().println(j.toPrettyString());
    spec.commandLine().getOut().flush();
    return 0;
  }
}
