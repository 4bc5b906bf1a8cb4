package ai.taco.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.clip.ClipVisionModel;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.SafeTensors;
import ai.taco.metrics.Cmmd;
import ai.taco.metrics.CmmdEmbedder;
import ai.taco.metrics.MetricException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import ai.taco.cli.ConsoleProgress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code taco cmmd}: CMMD between two image sets, as JSON on stdout. Each of {@code --ref} / {@code --dist} is an image
 * folder (embedded with the CLIP vision model of {@code --clip}, as google-research cmmd does) or a safetensors file
 * holding one [n, d] tensor of embeddings (named {@code embeddings}, or the only tensor).
 */
@Command(
    name = "cmmd",
    mixinStandardHelpOptions = true,
    description = "CMMD (google-research estimator, RBF sigma 10, x1000) over CLIP image embeddings.")
public final class CmmdCommand implements TacoCommand {
  private static final Logger LOG = LoggerFactory.getLogger(CmmdCommand.class);

  /** Default CLIP folder for CMMD (models/README.md): the model the CMMD paper uses. */
  static final Path DEFAULT_CLIP = ai.taco.core.files.ModelsFolder.resolve("clip-vit-large-patch14-336");

  @Option(names = "--ref", required = true, description = "Reference image folder, or embeddings (safetensors).")
  Path ref;

  @Option(names = "--dist", required = true, description = "Distorted image folder, or embeddings (safetensors).")
  Path dist;

  @Option(names = "--clip",
      description = "CLIP model folder (config.json + model.safetensors) for image folders. Default: " + "models/"
          + "clip-vit-large-patch14-336.")
  Path clip;

  @Option(names = "--cmmd-recipe", defaultValue = "cmmd-pytorch",
      paramLabel = "cmmd-pytorch|google-research|clip-no-projection",
      description = "Embedding recipe for image folders, the same option as taco eval: cmmd-pytorch (default: whole"
          + " image, torch bicubic, image_embeds), google-research (centre crop, antialiased bicubic on 8 bits),"
          + " clip-no-projection (the paper's wording: pooler output without visual_projection).")
  String cmmdRecipe;

  @Option(names = "--save-embeddings",
      description = "Write the embeddings (ref, dist: [n,d] F32, unit norm) to this safetensors.")
  Path saveEmbeddings;

  @Option(names = "--force", description = "Overwrite --save-embeddings if it exists.")
  boolean force;

  @Override
  public Integer call() {
    CmmdEmbedder.Recipe recipe = CmmdEmbedder.Recipe.parse(cmmdRecipe);
    if (saveEmbeddings != null) {
      OutputPaths.check(saveEmbeddings, force);
    }
    // Check both inputs before embedding either: a typo in --dist must not cost a whole --ref folder's run.
    float[][] x = Files.isDirectory(ref) ? null : Cmmd.l2Normalize(embeddings(ref, "ref"));
    float[][] y = Files.isDirectory(dist) ? null : Cmmd.l2Normalize(embeddings(dist, "dist"));
    List<Path> refFiles = x == null ? ImageFiles.list(ref) : null;
    List<Path> distFiles = y == null ? ImageFiles.list(dist) : null;
    if (x == null || y == null) {
      Path dir = clip != null ? clip : DEFAULT_CLIP;
      if (!Files.isDirectory(dir)) {
        throw new MetricException("CLIP model folder not found: " + dir + " (pass --clip; see docs/weights.md)");
      }
      try (CmmdEmbedder embedder = new CmmdEmbedder(ClipVisionModel.load(dir), recipe)) {
        x = x != null ? x : embedFolder(embedder, ref, refFiles, "ref");
        y = y != null ? y : embedFolder(embedder, dist, distFiles, "dist");
      }
    }
    if (saveEmbeddings != null) {
      try {
        SafeTensors.write(saveEmbeddings, Map.of("ref", host(x), "dist", host(y)), Map.of());
      } catch (java.io.IOException e) {
        throw new MetricException("cannot write " + saveEmbeddings + ": " + e.getMessage(), e);
      }
    }
    double cmmd = Cmmd.cmmd(x, y);
    if (!Double.isFinite(cmmd)) {
      throw new MetricException("CMMD is " + cmmd + ": the embeddings hold non-finite values");
    }
    ObjectNode out = new ObjectMapper().createObjectNode();
    out.put("cmmd", cmmd);
    if (refFiles != null || distFiles != null) {
      out.put("cmmd_recipe", recipe.id()); // embedding files carry no recipe: only images embedded here are named
    } else {
      out.putNull("cmmd_recipe");
    }
    out.put("ref_count", x.length);
    out.put("dist_count", y.length);
    System.out.println(out.toPrettyString());
    return 0;
  }

  private static float[][] embedFolder(CmmdEmbedder embedder, Path dir, List<Path> files, String name) {
    LOG.info("CMMD: embedding {} images of {}", files.size(), dir);
    float[][] out = new float[files.size()][];
    try (ConsoleProgress pb = ConsoleProgress.start("clip " + name, files.size(), 0, "images")) {
      for (int i = 0; i < files.size(); i++) {
        ImageFiles.Rgb im = ImageFiles.read(files.get(i));
        try (NDManager m = NDManager.newBaseManager()) {
          out[i] = embedder.embed(m.create(im.planar(), new Shape(1, 3, im.height(), im.width())));
        }
        pb.step();
      }
    }
    return out;
  }

  private static HostTensor host(float[][] rows) {
    int d = rows[0].length;
    float[] flat = new float[rows.length * d];
    for (int i = 0; i < rows.length; i++) {
      System.arraycopy(rows[i], 0, flat, i * d, d);
    }
    return HostTensor.ofFloats(flat, rows.length, d);
  }

  /** The [n,d] tensor named {@code embeddings}, else {@code role} (a --save-embeddings file), else the only one. */
  static float[][] embeddings(Path file, String role) {
    if (!Files.isRegularFile(file)) {
      throw new MetricException("embeddings file or image folder not found: " + file);
    }
    Map<String, HostTensor> t = SafeTensors.read(file).tensors();
    HostTensor e = t.containsKey("embeddings") ? t.get("embeddings") : t.containsKey(role) ? t.get(role)
        : t.size() == 1 ? t.values().iterator().next() : null;
    if (e == null || e.shape().length != 2) {
      throw new MetricException(file + ": expected an [n,d] tensor named 'embeddings' or '" + role + "', found "
          + t.keySet());
    }
    int n = Math.toIntExact(e.shape()[0]);
    int d = Math.toIntExact(e.shape()[1]);
    float[] flat = e.toFloatArray();
    float[][] rows = new float[n][d];
    for (int i = 0; i < n; i++) {
      System.arraycopy(flat, i * d, rows[i], 0, d);
      // A NaN or all-zero row would turn every kernel value, and so CMMD, into NaN.
      double norm = 0;
      for (float v : rows[i]) {
        if (!Float.isFinite(v)) {
          throw new MetricException(file + ": embedding " + i + " holds a non-finite value (" + v + ")");
        }
        norm += (double) v * v;
      }
      if (norm == 0) {
        throw new MetricException(file + ": embedding " + i + " is all zeros (cannot be normalised)");
      }
    }
    return rows;
  }
}
