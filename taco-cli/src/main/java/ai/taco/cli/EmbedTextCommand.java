package ai.taco.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.taco.core.ClipTextEncoder;
import ai.taco.core.clip.ClipFiles;
import ai.taco.core.clip.ClipTokenizer;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.SafeTensors;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code taco embed-text}: caption(s) to the CLIP {@code last_hidden_state} TACO's encoder reads, written as one
 * float32 safetensors tensor {@code last_hidden_state} of shape {@code [n, 38, width]}.
 */
@Command(
    name = "embed-text",
    mixinStandardHelpOptions = true,
    description =
        "Encodes captions with the frozen CLIP text model (HuggingFace openai/clip-vit-base-patch32 semantics: 38"
            + " tokens, padding and attention masks as transformers) and writes the last_hidden_state [n, 38, width]"
            + " as one float32 tensor named last_hidden_state in a safetensors file (usable with --text-embedding)."
            + " Prints a JSON summary on stdout.")
public final class EmbedTextCommand implements TacoCommand {

  /** One tensor's bytes must fit a Java array (the safetensors writer and readers hold it in one buffer). */
  private static final long MAX_TENSOR_BYTES = Integer.MAX_VALUE - 8;

  /** Name of the one tensor in the output file. */
  public static final String TENSOR = "last_hidden_state";

  @Option(
      names = "--clip",
      paramLabel = "DIR",
      description =
          "HuggingFace CLIP directory (config.json, model.safetensors, tokenizer.json). Default: $"
              + ClipFiles.ENV_VAR
              + ", else models/clip-vit-base-patch32.")
  Path clip;

  static final class Source {
    @Option(names = "--caption", paramLabel = "TEXT", description = "One caption (may be empty).")
    String caption;

    @Option(
        names = "--captions",
        paramLabel = "FILE",
        description = "UTF-8 text file, one caption per line (a final newline does not add an empty caption).")
    Path captionsFile;
  }

  @ArgGroup(exclusive = true, multiplicity = "1")
  Source source;

  @Option(names = "--out", required = true, paramLabel = "FILE", description = "Output .safetensors file.")
  Path out;

  @Option(names = "--force", description = "Overwrite the output file if it exists.")
  boolean force;

  public EmbedTextCommand() {}

  @Override
  public Integer call() throws Exception {
    OutputPaths.check(out, force);
    List<String> captions =
        source.captionsFile != null
            ? ClipTokenizer.readCaptions(source.captionsFile)
            : List.of(CommandLineText.caption("--caption", source.caption));
    if (captions.isEmpty()) {
      throw new IllegalArgumentException(source.captionsFile + " holds no captions");
    }
    Path dir = ClipFiles.resolveDirectory(clip);
    long[] shape;
    try (ClipTextEncoder encoder = ClipTextEncoder.load(dir);
        NDManager m = NDManager.newBaseManager()) {
      long bytesPerCaption = 4L * encoder.sequenceLength() * encoder.width();
      long maxCaptions = MAX_TENSOR_BYTES / bytesPerCaption;
      if (captions.size() > maxCaptions) {
        throw new IllegalArgumentException(
            captions.size()
                + " captions would make a "
                + (captions.size() * bytesPerCaption >> 20)
                + " MiB tensor; one file holds at most "
                + maxCaptions
                + " (2 GiB): split the caption file");
      }
      NDArray e = encoder.encode(m, captions);
      shape = e.getShape().getShape();
      Map<String, String> meta = new LinkedHashMap<>();
      meta.put("format", "taco-text-embedding");
      meta.put("clip", dir.toString());
      meta.put("captions", new ObjectMapper().writeValueAsString(captions));
      SafeTensors.write(out, Map.of(TENSOR, HostTensor.fromNDArray(e)), meta);
    }
    ObjectNode summary = new ObjectMapper().createObjectNode();
    summary.put("out", out.toString());
    summary.put("tensor", TENSOR);
    var s = summary.putArray("shape");
    for (long d : shape) {
      s.add(d);
    }
    summary.put("captions", captions.size());
    System.out.println(summary.toPrettyString());
    return 0;
  }
}
