package ai.taco.eval.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.taco.metrics.Fid;
import ai.taco.metrics.ImageTooSmallException;
import ai.taco.metrics.InceptionV3;
import ai.taco.metrics.Kid;
import ai.taco.metrics.CmmdEmbedder;
import ai.taco.metrics.Lpips;
import ai.taco.metrics.MsSsim;
import ai.taco.metrics.Pieapp;
import ai.taco.metrics.Psnr;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The paper's metrics as {@link ImageMetric}/{@link SetMetric}s over {@code ai.taco.metrics}, opened from the
 * weights the user has: PSNR and MS-SSIM always, LPIPS with AlexNet-LPIPS weights, PieAPP with PieAPPv0.1 weights,
 * FID and KID with pytorch-fid InceptionV3 weights, CMMD with a CLIP vision tower. What is skipped is said in
 * {@link #notes()}.
 */
public final class StandardMetrics implements AutoCloseable {

  /** torchvision Resize(256) of TACO's MS-SSIM fallback for images whose short side is too small. */
  static final int MS_SSIM_FALLBACK_SIZE = 256;

  private final List<ImageMetric> imageMetrics;
  private final List<SetMetric> setMetrics;
  private final List<String> notes;

  private StandardMetrics(List<ImageMetric> imageMetrics, List<SetMetric> setMetrics, List<String> notes) {
    this.imageMetrics = List.copyOf(imageMetrics);
    this.setMetrics = List.copyOf(setMetrics);
    this.notes = List.copyOf(notes);
  }

  /**
   * Each path may be null: that metric is then skipped (and noted).
   *
   * @param lpipsWeights empty (no LPIPS), the lpips state dict (one file), a folder holding torchvision's
   *     {@code alexnet-owt-7be5be79.pth} and lpips' {@code alex.pth}, or those two files (either order)
   * @param lpipsConvention {@link Lpips.InputConvention#TACO_QUIRK} reproduces the paper's numbers
   */
  public static StandardMetrics open(List<Path> lpipsWeights, Lpips.InputConvention lpipsConvention,
      Path inceptionWeights, Path cmmdClip) {
    return open(lpipsWeights, lpipsConvention, null, inceptionWeights, cmmdClip);
  }

  /** As {@link #open(List, Lpips.InputConvention, Path, Path)}, plus PieAPP when {@code pieappWeights} is not null. */
  public static StandardMetrics open(List<Path> lpipsWeights, Lpips.InputConvention lpipsConvention,
      Path pieappWeights, Path inceptionWeights, Path cmmdClip) {
    return open(lpipsWeights, lpipsConvention, pieappWeights, inceptionWeights, cmmdClip, false);
  }

  /**
   * As {@link #open(List, Lpips.InputConvention, Path, Path, Path)}; with {@code deferWeights} each network loads on
   * the metric's first image instead (names, columns and FID/CMMD distances need none), for a driver whose images are
   * measured elsewhere.
   */
  public static StandardMetrics open(List<Path> lpipsWeights, Lpips.InputConvention lpipsConvention,
      Path pieappWeights, Path inceptionWeights, Path cmmdClip, boolean deferWeights) {
    return open(lpipsWeights, lpipsConvention, pieappWeights, inceptionWeights, cmmdClip, CmmdEmbedder.Recipe.DEFAULT,
        deferWeights);
  }

  /** As {@link #open(List, Lpips.InputConvention, Path, Path, Path, boolean)}, with the CMMD embedding recipe named. */
  public static StandardMetrics open(List<Path> lpipsWeights, Lpips.InputConvention lpipsConvention,
      Path pieappWeights, Path inceptionWeights, Path cmmdClip, CmmdEmbedder.Recipe cmmdRecipe,
      boolean deferWeights) {
    List<ImageMetric> image = new ArrayList<>();
    List<SetMetric> set = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    try {
      image.add(new PsnrMetric());
      image.add(new MsSsimMetric());
      if (!lpipsWeights.isEmpty()) {
        image.add(new LpipsMetric(MetricWeights.of(() -> loadLpips(lpipsWeights), deferWeights),
            lpipsConvention));
        notes.add(lpipsConvention == Lpips.InputConvention.TACO_QUIRK
            ? "LPIPS (AlexNet v0.1) fed [0,1] images directly, as the official TACO evaluation (comparable with the"
                + " paper, not with standard LPIPS)."
            : "LPIPS (AlexNet v0.1) with the standard [-1,1] input (NOT the official TACO convention).");
      } else {
        notes.add("LPIPS skipped: no --lpips-weights.");
      }
      if (pieappWeights != null) {
        image.add(new PieappMetric(MetricWeights.of(() -> Pieapp.load(pieappWeights), deferWeights)));
      }
      if (inceptionWeights != null) {
        set.add(new FidMetric(MetricWeights.of(() -> InceptionV3.load(inceptionWeights), deferWeights)));
      } else {
        notes.add("FID skipped: no --inception weights.");
      }
      if (cmmdClip != null) {
        set.add(CmmdMetric.open(cmmdClip, cmmdRecipe, deferWeights));
        notes.add("CMMD embeddings: recipe " + cmmdRecipe.id() + " (--cmmd-recipe; the same in taco cmmd).");
      } else {
        notes.add("CMMD skipped: no --cmmd-clip model.");
      }
    } catch (RuntimeException e) {
      image.forEach(ImageMetric::close);
      set.forEach(SetMetric::close);
      throw e;
    }
    return new StandardMetrics(image, set, notes);
  }

  static Lpips loadLpips(List<Path> files) {
    if (files.size() == 2) {
      return Lpips.load(files.get(0), files.get(1));
    }
    if (files.size() != 1) {
      throw new BenchmarkException("--lpips-weights takes one or two paths, got " + files.size());
    }
    Path weights = files.get(0);
    if (!Files.isDirectory(weights)) {
      return Lpips.load(weights);
    }
    Path trunk = null;
    Path heads = null;
    try (Stream<Path> s = Files.list(weights)) {
      for (Path p : s.sorted().toList()) {
        String n = p.getFileName().toString();
        if (n.startsWith("alexnet") && (n.endsWith(".pth") || n.endsWith(".safetensors"))) {
          trunk = p;
        } else if (n.equals("alex.pth") || n.equals("alex.safetensors")) {
          heads = p;
        }
      }
    } catch (IOException e) {
      throw new BenchmarkException("cannot list " + weights + ": " + e.getMessage(), e);
    }
    if (trunk == null || heads == null) {
      throw new BenchmarkException(weights + " must hold torchvision's alexnet-owt-7be5be79.pth and lpips' v0.1"
          + " alex.pth (see docs/weights.md)");
    }
    return Lpips.load(trunk, heads);
  }

  public List<ImageMetric> imageMetrics() {
    return imageMetrics;
  }

  public List<SetMetric> setMetrics() {
    return setMetrics;
  }

  public List<String> notes() {
    return notes;
  }

  @Override
  public void close() {
    imageMetrics.forEach(ImageMetric::close);
    setMetrics.forEach(SetMetric::close);
  }

  static void checkSameSize(RgbImage a, RgbImage b) {
    if (a.width() != b.width() || a.height() != b.height()) {
      throw new BenchmarkException("reconstruction is " + b.width() + "x" + b.height() + " but the original is "
          + a.width() + "x" + a.height());
    }
  }

  static NDArray tensor(NDManager m, RgbImage img) {
    return m.create(img.planes(), new Shape(1, 3, img.height(), img.width()));
  }

  /** PSNR as TACO computes it (see {@link Psnr}). */
  static final class PsnrMetric implements ImageMetric {
    @Override
    public String name() {
      return "psnr";
    }

    @Override
    public double compute(RgbImage original, RgbImage reconstruction) {
      checkSameSize(original, reconstruction);
      return Psnr.psnr(original.planes(), reconstruction.planes());
    }
  }

  /**
   * pytorch_msssim {@code ms_ssim(x, x_hat, data_range=1)}; when the image is too small for five scales, TACO's
   * fallback: both resized with torchvision {@code Resize(256)} on tensors (bilinear, shorter side to 256).
   */
  static final class MsSsimMetric implements ImageMetric {
    @Override
    public String name() {
      return "ms_ssim";
    }

    @Override
    public double compute(RgbImage x, RgbImage y) {
      checkSameSize(x, y);
      try {
        return MsSsim.msSsim(x.planes(), y.planes(), 1, 3, x.height(), x.width());
      } catch (ImageTooSmallException e) {
        RgbImage xs = Coco30k.resizeShorterSide(x, MS_SSIM_FALLBACK_SIZE, Coco30k.BILINEAR);
        RgbImage ys = Coco30k.resizeShorterSide(y, MS_SSIM_FALLBACK_SIZE, Coco30k.BILINEAR);
        return MsSsim.msSsim(xs.planes(), ys.planes(), 1, 3, xs.height(), xs.width());
      }
    }
  }

  /** LPIPS(x, x_hat) in the official argument order. */
  static final class LpipsMetric implements ImageMetric {
    private final MetricWeights<Lpips> lpips;
    private final Lpips.InputConvention convention;

    LpipsMetric(MetricWeights<Lpips> lpips, Lpips.InputConvention convention) {
      this.lpips = lpips;
      this.convention = convention;
    }

    @Override
    public String name() {
      return "lpips";
    }

    @Override
    public double compute(RgbImage x, RgbImage y) {
      checkSameSize(x, y);
      try (NDManager m = NDManager.newBaseManager()) {
        return lpips.get().distance(tensor(m, x), tensor(m, y), convention)[0];
      }
    }

    @Override
    public void close() {
      lpips.close();
    }
  }

  /**
   * piq's PieAPP(x = reconstruction, y = original) with its defaults (stride 27, data range 1). piq refuses values
   * outside [0,1]; an unclamped float reconstruction is clamped first, as saving it would.
   */
  static final class PieappMetric implements ImageMetric {
    private final MetricWeights<Pieapp> pieapp;

    PieappMetric(MetricWeights<Pieapp> pieapp) {
      this.pieapp = pieapp;
    }

    @Override
    public String name() {
      return "pieapp";
    }

    @Override
    public double compute(RgbImage x, RgbImage y) {
      checkSameSize(x, y);
      try (NDManager m = NDManager.newBaseManager()) {
        return pieapp.get().scores(tensor(m, y).clip(0f, 1f), tensor(m, x).clip(0f, 1f))[0];
      }
    }

    @Override
    public void close() {
      pieapp.close();
    }
  }

  /** FID over pytorch-fid InceptionV3 pool3 features of the images as 8-bit pixels (pytorch-fid reads saved PNGs). */
  static final class FidMetric implements SetMetric {
    private final MetricWeights<InceptionV3> inception;

    FidMetric(MetricWeights<InceptionV3> inception) {
      this.inception = inception;
    }

    @Override
    public String name() {
      return "fid";
    }

    @Override
    public float[] features(RgbImage image) {
      try (NDManager m = NDManager.newBaseManager()) {
        return inception.get().featureArray(tensor(m, image.quantized8()));
      }
    }

    /** FID, then KID and its spread over subsets (torch-fidelity's defaults) from the same features. */
    @Override
    public List<String> columns() {
      return List.of("fid", "kid", "kid_std");
    }

    /** NaN everywhere for fewer than two images per set (no covariance, no pair within a subset). */
    @Override
    public Map<String, Double> distances(List<float[]> originals, List<float[]> reconstructions) {
      if (originals.size() < 2 || reconstructions.size() < 2) {
        return Map.of("fid", Double.NaN, "kid", Double.NaN, "kid_std", Double.NaN);
      }
      double[] a = flatten(originals);
      double[] b = flatten(reconstructions);
      Kid.Result kid = Kid.kid(a, originals.size(), b, reconstructions.size(), InceptionV3.FEATURE_DIM);
      Map<String, Double> out = new LinkedHashMap<>();
      out.put("fid", Fid.frechetDistance(a, originals.size(), b, reconstructions.size(), InceptionV3.FEATURE_DIM));
      out.put("kid", kid.mean());
      out.put("kid_std", kid.std());
      return out;
    }

    /** NaN for fewer than two images per set (no covariance); else pytorch-fid's Fréchet distance. */
    @Override
    public double distance(List<float[]> originals, List<float[]> reconstructions) {
      if (originals.size() < 2 || reconstructions.size() < 2) {
        return Double.NaN;
      }
      // Fid picks the exact low-rank route when there are fewer images than feature dimensions.
      return Fid.frechetDistance(flatten(originals), originals.size(), flatten(reconstructions),
          reconstructions.size(), InceptionV3.FEATURE_DIM);
    }

    private static double[] flatten(List<float[]> rows) {
      double[] out = new double[rows.size() * InceptionV3.FEATURE_DIM];
      int k = 0;
      for (float[] r : rows) {
        for (float v : r) {
          out[k++] = v;
        }
      }
      return out;
    }

    @Override
    public void close() {
      inception.close();
    }
  }
}
