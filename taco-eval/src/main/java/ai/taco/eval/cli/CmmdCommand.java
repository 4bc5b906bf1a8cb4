package ai.taco.eval.cli;

import ai.taco.core.io.HostTensor;
import ai.taco.core.io.SafeTensors;
import ai.taco.eval.metrics.Cmmd;
import ai.taco.eval.metrics.MetricException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code taco cmmd}: CMMD between two sets of CLIP image embeddings, as JSON on stdout.
 *
 * <p>Inputs are safetensors files holding one [n, d] tensor of embeddings (named {@code embeddings}, or the only
 * tensor); rows are L2-normalised as CMMD does. Computing the embeddings from image folders with a CLIP vision model
 * ({@code --clip DIR}) comes with {@code ai.taco.core.clip.ClipVisionModel}.
 */
@Command(
    name = "cmmd",
    mixinStandardHelpOptions = true,
    description = "CMMD (google-research estimator, RBF sigma 10, x1000) between two sets of CLIP image embeddings.")
public final class CmmdCommand implements TacoCommand {

  @Option(names = "--ref", required = true, description = "Reference embeddings (safetensors, [n,d]).")
  Path ref;

  @Option(names = "--dist", required = true, description = "Distorted/generated embeddings (safetensors, [m,d]).")
  Path dist;

  @Option(names = "--clip", description = "CLIP model folder, for image folders (needs ClipVisionModel; see docs).")
  Path clip;

  @Override
  public Integer call() {
    if (Files.isDirectory(ref) || Files.isDirectory(dist) || clip != null) {
      throw new MetricException("taco cmmd on image folders (--clip) needs the CLIP vision model, which this build "
          + "does not include yet; pass embedding files ([n,d] safetensors) as --ref/--dist");
    }
    float[][] x = Cmmd.l2Normalize(embeddings(ref));
    float[][] y = Cmmd.l2Normalize(embeddings(dist));
    ObjectNode out = new ObjectMapper().createObjectNode();
    out.put("cmmd", Cmmd.cmmd(x, y));
    out.put("ref_count", x.length);
    out.put("dist_count", y.length);
    System.out.println(out.toPrettyString());
    return 0;
  }

  static float[][] embeddings(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new MetricException("embeddings file not found: " + file);
    }
    Map<String, HostTensor> t = SafeTensors.read(file).tensors();
    HostTensor e = t.containsKey("embeddings") ? t.get("embeddings") : t.size() == 1 ? t.values().iterator().next()
        : null;
    if (e == null || e.shape().length != 2) {
      throw new MetricException(file + ": expected one [n,d] tensor named 'embeddings', found " + t.keySet());
    }
    int n = Math.toIntExact(e.shape()[0]);
    int d = Math.toIntExact(e.shape()[1]);
    float[] flat = e.toFloatArray();
    float[][] rows = new float[n][d];
    for (int i = 0; i < n; i++) {
      System.arraycopy(flat, i * d, rows[i], 0, d);
    }
    return rows;
  }
}
