package ai.taco.spark;

import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.SafeTensors;
import ai.taco.core.testing.Golden;
import ai.taco.cli.TacoCli;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import picocli.CommandLine;

/** Inputs shared by the taco-spark tests: Kodak crops, their captions, per-image text embeddings, both CLIs. */
final class SparkTestData {

  static final Path WEIGHTS = Golden.tacoSmallWeights();

  /**
   * local[2] with one retry per task (local[N,F]: F attempts), so that a task failed on purpose is retried as a
   * cluster would retry it.
   */
  static final String MASTER = "local[2,2]";

  private SparkTestData() {}

  record Run(int exit, String out, String err) {}

  static Run taco(String... args) {
    return run(TacoCli.commandLine(), args);
  }

  static Run tacoSpark(String... args) {
    return run(TacoSparkCli.commandLine(), args);
  }

  private static Run run(CommandLine cl, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int exit = cl.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  /** Center {@code h x w} crops of Kodak images into {@code dir}; returns the caption file {@code {"name": "caption"}}. */
  static Path kodakCrops(Path dir, List<String> names, int h, int w) throws Exception {
    Files.createDirectories(dir);
    JsonNode all = new ObjectMapper().readTree(Golden.data("captions/kodak_ofa.json").toFile());
    Map<String, String> caps = new LinkedHashMap<>();
    for (String n : names) {
      BufferedImage src = ImageIO.read(Golden.data("kodak/" + n).toFile());
      BufferedImage crop = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
      int top = (src.getHeight() - h) / 2;
      int left = (src.getWidth() - w) / 2;
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          crop.setRGB(x, y, src.getRGB(left + x, top + y));
        }
      }
      ImageIO.write(crop, "png", dir.resolve(n).toFile());
      caps.put(n, all.get(n).asText());
    }
    Path captions = dir.resolveSibling(dir.getFileName() + "-captions.json");
    new ObjectMapper().writeValue(captions.toFile(), caps);
    return captions;
  }

  /** Random [1,38,512] text embeddings keyed by image name (CLIP's weights are not available offline). */
  static Map<String, HostTensor> embeddings(List<String> names, long seed) {
    Map<String, HostTensor> emb = new LinkedHashMap<>();
    Random rnd = new Random(seed);
    for (String n : names) {
      float[] v = new float[38 * 512];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) rnd.nextGaussian();
      }
      emb.put(n, HostTensor.ofFloats(v, 1, 38, 512));
    }
    return emb;
  }

  static Path writeEmbeddings(Path file, Map<String, HostTensor> emb) throws java.io.IOException {
    SafeTensors.write(file, emb, Map.of());
    return file;
  }
}
