package ai.taco.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.taco.metrics.ImageTooSmallException;
import ai.taco.metrics.Lpips;
import ai.taco.metrics.MetricException;
import ai.taco.metrics.MsSsim;
import ai.taco.metrics.Pieapp;
import ai.taco.metrics.Psnr;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code taco metrics}: PSNR, MS-SSIM, SSIM, LPIPS and (with its weights) PieAPP of one image pair, as JSON. */
@Command(
    name = "metrics",
    mixinStandardHelpOptions = true,
    description = "Full-reference metrics of one image pair: psnr, ms_ssim, ssim (pytorch_msssim), lpips (alex v0.1),"
        + " pieapp (piq, with its weights).")
public final class MetricsCommand implements TacoCommand {
  private static final Logger LOG = LoggerFactory.getLogger(MetricsCommand.class);

  /** Default LPIPS files under the models folder (models/README.md). */
  static final String DEFAULT_ALEXNET = "lpips/alexnet-owt-7be5be79.pth";

  static final String DEFAULT_HEADS = "lpips/alex.pth";

  /** lpips' alex.pth is a legacy (pre-1.6, non-zip) torch file; its converted form is looked for too. */
  static final String DEFAULT_HEADS_CONVERTED = "lpips/alex.safetensors";

  /** Default PieAPP weights under the models folder (where {@code taco fetch pieapp} puts them). */
  static final String DEFAULT_PIEAPP = "pieapp/PieAPPv0.1.pth";

  @Option(names = "--ref", required = true, description = "Reference image (PNG/JPEG/BMP).")
  Path ref;

  @Option(names = "--dist", required = true, description = "Distorted image, same size as --ref.")
  Path dist;

  @Option(names = "--lpips-weights", arity = "1..2", paramLabel = "W",
      description = "LPIPS weights: the lpips state dict (safetensors/.pth), or torchvision alexnet .pth + lpips "
          + "v0.1 alex.pth. Default: models/" + DEFAULT_ALEXNET + " + models/" + DEFAULT_HEADS + " if present.")
  List<Path> lpipsWeights;

  @Option(names = "--lpips-input", defaultValue = "taco", paramLabel = "taco|standard",
      description = "taco: [0,1] fed unchanged, as the official TACO evaluation (default, the same in every command);"
          + " standard: [0,1] mapped to [-1,1] (LPIPS as documented).")
  String lpipsInput;

  @Option(names = "--pieapp-weights", paramLabel = "W",
      description = "PieAPP weights (piq's PieAPPv0.1.pth, or the same keys as safetensors). Default: models/"
          + DEFAULT_PIEAPP + " if present; PieAPP is skipped without them.")
  Path pieappWeights;

  @Option(names = "--models", description = "Models folder for default weights (default: models/ of the installation).")
  Path models;

  @Override
  public Integer call() {
    Lpips.InputConvention convention = Lpips.InputConvention.parse(lpipsInput);
    ImageFiles.Rgb a = ImageFiles.read(ref);
    ImageFiles.Rgb b = ImageFiles.read(dist);
    if (a.width() != b.width() || a.height() != b.height()) {
      throw new MetricException("images differ in size: " + ref + " is " + a.width() + "x" + a.height() + ", "
          + dist + " is " + b.width() + "x" + b.height());
    }
    ObjectNode out = new ObjectMapper().createObjectNode();
    out.put("ref", ref.toString());
    out.put("dist", dist.toString());
    out.put("width", a.width());
    out.put("height", a.height());
    out.put("psnr", Psnr.psnr(a.planar(), b.planar()));
    try {
      out.put("ms_ssim", MsSsim.msSsim(a.planar(), b.planar(), 1, 3, a.height(), a.width()));
    } catch (ImageTooSmallException e) {
      LOG.warn("ms_ssim not computed: {}", e.getMessage());
      out.putNull("ms_ssim");
    }
    out.put("ssim", MsSsim.ssim(a.planar(), b.planar(), 1, 3, a.height(), a.width()));
    List<Path> weights = lpipsWeights != null ? lpipsWeights : defaultLpipsWeights();
    if (weights == null) {
      LOG.warn("lpips not computed: no --lpips-weights and no {} + {} under {}", DEFAULT_ALEXNET, DEFAULT_HEADS,
          models != null ? models : ai.taco.core.files.ModelsFolder.root());
    } else if (Math.min(a.height(), a.width()) < Lpips.MIN_SIDE) {
      // libtorch would fail inside AlexNet with "Kernel size can't be greater than actual input size".
      LOG.warn("lpips not computed: LPIPS (AlexNet) needs both image sides >= {} pixels, got {}x{}", Lpips.MIN_SIDE,
          a.width(), a.height());
      out.putNull("lpips");
    } else {
      try (Lpips lpips = weights.size() == 1 ? Lpips.load(weights.get(0)) : Lpips.load(weights.get(0), weights.get(1));
          NDManager m = NDManager.newBaseManager()) {
        Shape s = new Shape(1, 3, a.height(), a.width());
        NDArray x0 = m.create(a.planar(), s);
        NDArray x1 = m.create(b.planar(), s);
        out.put("lpips", lpips.distance(x0, x1, convention)[0]);
        out.put("lpips_input", convention.id());
      }
    }
    Path pieapp = pieappWeights != null ? pieappWeights
        : (models != null ? models : ai.taco.core.files.ModelsFolder.root()).resolve(DEFAULT_PIEAPP);
    if (pieappWeights != null || Files.isRegularFile(pieapp)) {
      putPieapp(out, a, b, pieapp);
    }
    System.out.println(out.toPrettyString());
    return 0;
  }

  /** piq's PieAPP(x = distorted, y = reference); null with a warning below the 64-px patch size, as for LPIPS. */
  private static void putPieapp(ObjectNode out, ImageFiles.Rgb a, ImageFiles.Rgb b, Path weights) {
    if (Math.min(a.height(), a.width()) < Pieapp.PATCH_SIZE) {
      LOG.warn("pieapp not computed: PieAPP needs both image sides >= {} pixels, got {}x{}", Pieapp.PATCH_SIZE,
          a.width(), a.height());
      out.putNull("pieapp");
      return;
    }
    try (Pieapp pieapp = Pieapp.load(weights); NDManager m = NDManager.newBaseManager()) {
      Shape s = new Shape(1, 3, a.height(), a.width());
      out.put("pieapp", pieapp.scores(m.create(b.planar(), s), m.create(a.planar(), s))[0]);
    }
  }

  /** The default pair under --models; the heads may also be a one-time safetensors conversion of alex.pth. */
  private List<Path> defaultLpipsWeights() {
    Path root = models != null ? models : ai.taco.core.files.ModelsFolder.root();
    Path alex = root.resolve(DEFAULT_ALEXNET);
    Path heads = root.resolve(DEFAULT_HEADS);
    if (!Files.isRegularFile(heads)) {
      heads = root.resolve(DEFAULT_HEADS_CONVERTED);
    }
    return Files.isRegularFile(alex) && Files.isRegularFile(heads) ? List.of(alex, heads) : null;
  }
}
