package ai.taco.cli;

import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.core.weights.SafeTensors;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import javax.imageio.ImageIO;
import picocli.CommandLine;

/**
 * The test support of the {@code taco} command line: the one in-process runner and the fixtures several CLI tests
 * build (Kodak crops with captions, per-image text embeddings, the golden small networks as the files the commands
 * read). Each test keeps what it builds in its own fields; no test writes another's.
 */
final class CliTesting {
  private CliTesting() {}

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Exit code, everything printed to stdout (picocli's writer and System.out), picocli's stderr writer. */
  record Run(int code, String out, String err) {
    int exit() {
      return code;
    }

    JsonNode json() throws Exception {
      return JSON.readTree(out);
    }

    /** {exit code, stdout, stderr} as strings. */
    String[] asArray() {
      return new String[] {String.valueOf(code), out, err};
    }
  }

  static Run taco(String... args) {
    return taco(cl -> {}, args);
  }

  /** Runs {@code taco args} in-process after {@code setup} saw the command line (e.g. to reach a subcommand). */
  static Run taco(Consumer<CommandLine> setup, String... args) {
    // Some commands print their JSON with System.out, others with picocli's writer: capture both.
    PrintStream saved = System.out;
    ByteArrayOutputStream sysOut = new ByteArrayOutputStream();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    try {
      System.setOut(new PrintStream(sysOut, true, StandardCharsets.UTF_8));
      CommandLine cl = TacoCli.commandLine();
      cl.setOut(new PrintWriter(out, true));
      cl.setErr(new PrintWriter(err, true));
      setup.accept(cl);
      int code = cl.execute(args);
      return new Run(code, out + sysOut.toString(StandardCharsets.UTF_8), err.toString());
    } finally {
      System.setOut(saved);
    }
  }

  /** The rows of a results CSV by column name (quotes around a field removed). */
  static List<Map<String, String>> readCsv(Path f) throws Exception {
    List<String> lines = Files.readAllLines(f);
    List<String> head = Arrays.asList(lines.get(0).split(","));
    List<Map<String, String>> rows = new ArrayList<>();
    for (String l : lines.subList(1, lines.size())) {
      // No field of these rows contains a comma except text_source, which is last.
      String[] parts = l.split(",", head.size());
      Map<String, String> row = new LinkedHashMap<>();
      for (int i = 0; i < head.size(); i++) {
        String v = parts[i];
        row.put(head.get(i), v.length() > 1 && v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v);
      }
      rows.add(row);
    }
    return rows;
  }
  /** Three Kodak images cropped to {@link #H}x{@link #W} and their captions. */
  static final String[] KODAK_IMAGES = {"kodim01.png", "kodim07.png", "kodim23.png"};

  static final int H = 192;
  static final int W = 256;

  record KodakCrops(Path images, Path captions) {}

  /** Center crops of {@link #KODAK_IMAGES} (multiples of 64; MS-SSIM needs sides > 160) and their OFA captions. */
  static KodakCrops kodakCrops(Path dir) throws Exception {
    Path kodak = Files.createDirectories(dir.resolve("kodak"));
    JsonNode all = JSON.readTree(Golden.data("captions/kodak_ofa.json").toFile());
    Map<String, String> caps = new LinkedHashMap<>();
    for (String n : KODAK_IMAGES) {
      BufferedImage src = ImageIO.read(Golden.data("kodak/" + n).toFile());
      BufferedImage crop = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
      int top = (src.getHeight() - H) / 2;
      int left = (src.getWidth() - W) / 2;
      for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
          crop.setRGB(x, y, src.getRGB(left + x, top + y));
        }
      }
      ImageIO.write(crop, "png", kodak.resolve(n).toFile());
      caps.put(n, all.get(n).asText());
    }
    Path captions = dir.resolve("captions.json");
    JSON.writeValue(captions.toFile(), caps);
    return new KodakCrops(kodak, captions);
  }

  /** What {@code taco eval} with every metric reads: crops, captions, text embeddings, FID and CMMD networks. */
  record EvalInputs(Path kodak, Path captions, Path embeddings, Path inception, Path visionClip) {}

  static EvalInputs evalInputs(Path dir) throws Exception {
    KodakCrops k = kodakCrops(dir);
    // Per-image text embeddings (CLIP weights are not available here): random, keyed by file name.
    Map<String, HostTensor> emb = new LinkedHashMap<>();
    Random rnd = new Random(7);
    for (String n : KODAK_IMAGES) {
      float[] v = new float[38 * 512];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) rnd.nextGaussian();
      }
      emb.put(n, HostTensor.ofFloats(v, 1, 38, 512));
    }
    Path embeddings = dir.resolve("text.safetensors");
    SafeTensors.write(embeddings, emb, Map.of());
    Path inception = Golden.dequantizedInception(dir.resolve("inception.safetensors"));
    return new EvalInputs(k.images(), k.captions(), embeddings, inception,
        Golden.smallVisionClip(dir.resolve("clip-vision-small")));
  }

  /** A HuggingFace-style CLIP folder with both small towers (config.json, model.safetensors, tokenizer.json). */
  static Path smallClipDir(Path dir) throws Exception {
    ObjectNode config = JSON.createObjectNode();
    config.put("model_type", "clip");
    config.put("projection_dim", 32);
    config.set("text_config", JSON.readTree(Golden.golden("clip/text-small-config.json").toFile()));
    config.set("vision_config", JSON.readTree(Golden.golden("clip/vision-small-config.json").toFile()));
    Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(config));
    Map<String, HostTensor> weights = new LinkedHashMap<>(Golden.tensors("clip/text-small.safetensors"));
    weights.putAll(Golden.tensors("clip/vision-small.safetensors"));
    SafeTensors.write(dir.resolve("model.safetensors"), weights, Map.of());
    Files.copy(Golden.golden("clip/tokenizer-pad38.json"), dir.resolve("tokenizer.json"));
    return dir;
  }
}
