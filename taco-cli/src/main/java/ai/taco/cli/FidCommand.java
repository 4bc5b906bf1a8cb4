package ai.taco.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.SafeTensors;
import ai.taco.metrics.Fid;
import ai.taco.metrics.InceptionV3;
import ai.taco.metrics.Kid;
import ai.taco.metrics.MetricException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import ai.taco.cli.ConsoleProgress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code taco fid}: FID and KID between two image folders with pytorch-fid's Inception, as JSON on stdout. */
@Command(
    name = "fid",
    mixinStandardHelpOptions = true,
    description = "Frechet Inception Distance and Kernel Inception Distance (torch-fidelity's estimator: 100 subsets"
        + " of min(1000, n) images, seed 2020) between two image folders (pytorch-fid InceptionV3, pool3 features).")
public final class FidCommand implements TacoCommand {
  private static final Logger LOG = LoggerFactory.getLogger(FidCommand.class);

  @Option(names = "--ref", required = true, description = "Folder of reference images.")
  Path ref;

  @Option(names = "--dist", required = true, description = "Folder of distorted/generated images.")
  Path dist;

  @Option(names = "--inception", required = true,
      description = "pytorch-fid weights: pt_inception-2015-12-05-6726825d.pth (or the same keys as safetensors).")
  Path inception;

  @Option(names = "--save-features", description = "Write the features (ref, dist: [n,2048] F32) to this safetensors.")
  Path saveFeatures;

  @Option(names = "--force", description = "Overwrite --save-features if it exists.")
  boolean force;

  @Option(names = "--batch-size", defaultValue = "8", description = "Images per forward pass (default ${DEFAULT-VALUE}).")
  int batchSize;

  @Override
  public Integer call() {
    if (saveFeatures != null) {
      OutputPaths.check(saveFeatures, force);
    }
    if (batchSize < 1) {
      throw new MetricException("--batch-size must be >= 1");
    }
    List<Path> refFiles = ImageFiles.list(ref);
    List<Path> distFiles = ImageFiles.list(dist);
    for (List<Path> files : List.of(refFiles, distFiles)) {
      if (files.size() < 2) {
        throw new MetricException("FID needs at least 2 images per folder (a covariance), got " + files.size());
      }
    }
    LOG.info("FID: {} reference and {} distorted images", refFiles.size(), distFiles.size());
    try (InceptionV3 net = InceptionV3.load(inception)) {
      float[] fr = extract(net, refFiles, "ref");
      float[] fd = extract(net, distFiles, "dist");
      double[] dr = toDouble(fr);
      double[] dd = toDouble(fd);
      double fid = Fid.frechetDistance(dr, refFiles.size(), dd, distFiles.size(), InceptionV3.FEATURE_DIM);
      Kid.Result kid = Kid.kid(dr, refFiles.size(), dd, distFiles.size(), InceptionV3.FEATURE_DIM);
      if (saveFeatures != null) {
        Map<String, HostTensor> t = new LinkedHashMap<>();
        t.put("ref", HostTensor.ofFloats(fr, refFiles.size(), InceptionV3.FEATURE_DIM));
        t.put("dist", HostTensor.ofFloats(fd, distFiles.size(), InceptionV3.FEATURE_DIM));
        try {
          SafeTensors.write(saveFeatures, t, Map.of("ref_dir", ref.toString(), "dist_dir", dist.toString()));
        } catch (java.io.IOException e) {
          throw new MetricException("cannot write " + saveFeatures + ": " + e.getMessage(), e);
        }
        LOG.info("features written to {}", saveFeatures);
      }
      ObjectNode out = new ObjectMapper().createObjectNode();
      out.put("fid", fid);
      out.put("kid", kid.mean());
      out.put("kid_std", kid.std());
      out.put("kid_subset_size", kid.subsetSize());
      out.put("ref_count", refFiles.size());
      out.put("dist_count", distFiles.size());
      System.out.println(out.toPrettyString());
    }
    return 0;
  }

  /** pool3 features of every file, [n*2048], in batches with a progress bar on stderr. */
  static float[] extract(InceptionV3 net, List<Path> files, String name, int batchSize) {
    float[] all = new float[files.size() * InceptionV3.FEATURE_DIM];
    try (ConsoleProgress pb = ConsoleProgress.start("inception " + name, files.size(), 0, "images")) {
      for (int start = 0; start < files.size(); start += batchSize) {
        int end = Math.min(files.size(), start + batchSize);
        try (NDManager m = NDManager.newBaseManager()) {
          List<NDArray> batch = new ArrayList<>();
          for (Path p : files.subList(start, end)) {
            ImageFiles.Rgb im = ImageFiles.read(p);
            batch.add(m.create(im.planar(), new Shape(1, 3, im.height(), im.width())));
          }
          float[] f = net.features(batch).toFloatArray();
          System.arraycopy(f, 0, all, start * InceptionV3.FEATURE_DIM, f.length);
        }
        pb.stepTo(end);
      }
    }
    return all;
  }

  private static double[] toDouble(float[] f) {
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      d[i] = f[i];
    }
    return d;
  }

  private float[] extract(InceptionV3 net, List<Path> files, String name) {
    return extract(net, files, name, batchSize);
  }
}
