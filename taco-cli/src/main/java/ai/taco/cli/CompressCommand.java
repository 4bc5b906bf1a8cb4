package ai.taco.cli;

import ai.taco.eval.options.CodecOptions;
import ai.djl.ndarray.NDManager;
import ai.taco.core.CaptionEncoder;
import ai.taco.core.EncodeOptions;
import ai.taco.core.TacoCodec;
import ai.taco.core.bitstream.CodedImage;
import ai.taco.core.bitstream.TacoFile;
import ai.taco.core.error.WeightsException;
import ai.taco.core.image.Images;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.SafeTensors;
import ai.taco.eval.bench.TacoCodecs;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code taco compress}: image + caption features → TACO container or official {@code .bin}. */
@Command(
    name = "compress",
    mixinStandardHelpOptions = true,
    description =
        "Compresses an image with TACO. The caption guides the encoder only (decoding needs no text): give its CLIP"
            + " features with --text-embedding (e.g. from 'taco embed-text'), or --clip/--caption. Images of any size"
            + " are padded to a multiple of 64 and cropped back when decoding. Prints a JSON summary on stdout.")
public final class CompressCommand implements TacoCommand {
  /** CLIP ViT-B/32 caption features as TACO uses them: 38 tokens (official datasets pad/truncate to 38). */
  static final int TEXT_TOKENS = 38;

  @Mixin CodecOptions codec;

  @Mixin OutputOptions output;

  @Option(
      names = "--text-embedding",
      paramLabel = "E.safetensors",
      description = "Caption features: a safetensors file holding one float32 tensor [38,512] or [1,38,512].")
  Path embedding;

  /** The other caption source: --clip DIR --caption TEXT (CLIP text encoder run here). */
  @Mixin ClipCaptionOptions clip;

  @Option(
      names = "--no-caption",
      description = "No caption: all-zero caption features, the features taco-spark compress uses by default (neither"
          + " --clip nor --text-embeddings).")
  boolean noCaption;

  @Option(names = "--in", required = true, paramLabel = "IMG", description = "Input image (PNG, JPEG, ...).")
  Path in;

  @Option(names = "--out", required = true, paramLabel = "FILE", description = "Compressed file to write.")
  Path out;

  @Option(
      names = "--format",
      paramLabel = "FMT",
      defaultValue = "taco",
      description = "taco (container with checksums, docs/bitstream.md; default) or compressai (official TACO .bin).")
  String format;

  @Spec CommandSpec spec;

  public CompressCommand() {}

  @Override
  public Integer call() throws Exception {
    if (!format.equals("taco") && !format.equals("compressai")) {
      throw new IllegalArgumentException("unknown --format '" + format + "' (taco, compressai)");
    }
    output.checkOutput(out, in);
    // 8-bit images as bytes, PNGs row by row (the encoder divides by 255 itself, same bitstream as Images.read).
    HostTensor image = Images.readCompact(in, codec.maxPixels());
    HostTensor features = captionFeatures();
    try (TacoCodec c = codec.spec().build()) {
      long t0 = System.nanoTime();
      byte[] bytes;
      int h;
      int w;
      if (format.equals("taco")) {
        TacoFile f = c.compress(image, features);
        f.write(out, output.force);
        bytes = f.toBytes();
        h = f.height();
        w = f.width();
      } else {
        CodedImage f = c.compress(image, features, EncodeOptions.official());
        f.write(out, output.force);
        bytes = f.toBytes();
        h = f.height();
        w = f.width();
      }
      ObjectNode s = new ObjectMapper().createObjectNode();
      s.put("in", in.toString());
      s.put("out", out.toString());
      s.put("format", format);
      s.put("height", h);
      s.put("width", w);
      s.put("bytes", bytes.length);
      s.put("bpp", bytes.length * 8.0 / ((double) h * w));
      s.put("scale_table", c.scaleTable().id());
      s.put("seconds", (System.nanoTime() - t0) / 1e9);
      spec.commandLine().getOut().println(s.toPrettyString());
      spec.commandLine().getOut().flush();
    }
    return 0;
  }

  private HostTensor captionFeatures() {
    if (embedding != null && clip.hasCaption()) {
      throw new IllegalArgumentException("give either --text-embedding or --caption, not both");
    }
    if (noCaption) {
      if (embedding != null || clip.hasCaption()) {
        throw new IllegalArgumentException("--no-caption excludes --text-embedding and --caption");
      }
      // The very encoder taco-spark's default path builds (TacoCodecs.captionEncoder without CLIP or embeddings).
      try (CaptionEncoder zeros = TacoCodecs.captionEncoder(false, null, null)) {
        return zeros.encodeTensor("");
      }
    }
    if (embedding != null) {
      return readEmbedding(embedding);
    }
    if (!clip.hasCaption()) {
      throw new IllegalArgumentException("give the caption: --text-embedding E.safetensors or --caption TEXT"
          + " (or --no-caption for all-zero caption features)");
    }
    try (NDManager m = NDManager.newBaseManager()) {
      return HostTensor.fromNDArray(clip.encode(m));
    }
  }

  /** The one float32 tensor [38,512] or [1,38,512] of a safetensors file. */
  static HostTensor readEmbedding(Path file) {
    ai.taco.core.files.InputFiles.requireRegular(file, "text embedding file", WeightsException::new);
    Map<String, HostTensor> tensors = SafeTensors.read(file).tensors();
    if (tensors.size() != 1) {
      throw new WeightsException(file + ": expected exactly one tensor (the caption features), found "
          + tensors.size() + " " + tensors.keySet());
    }
    HostTensor t = tensors.values().iterator().next();
    long[] s = t.shape();
    boolean shapeOk = (s.length == 2 && s[0] == TEXT_TOKENS && s[1] == 512)
        || (s.length == 3 && s[0] == 1 && s[1] == TEXT_TOKENS && s[2] == 512);
    if (!shapeOk) {
      throw new WeightsException(file + ": caption features must have shape [38,512] or [1,38,512], got "
          + Arrays.toString(s));
    }
    if (t.dataType() != ai.djl.ndarray.types.DataType.FLOAT32) {
      throw new WeightsException(file + ": caption features must be float32, got " + t.dataType());
    }
    for (float v : t.toFloatArray()) {
      if (!Float.isFinite(v)) {
        throw new WeightsException(file + ": caption features contain NaN or infinite values");
      }
    }
    return t;
  }
}
