package ai.taco.cli;

import ai.taco.eval.codec.CodecSpec;
import ai.taco.eval.options.CodecOptions;
import ai.taco.core.DecodeOptions;
import ai.taco.core.TacoCodec;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.image.Images;
import ai.taco.core.files.ModelsFolder;
import ai.taco.core.bitstream.TacoFile;
import ai.taco.metrics.MsSsim;
import ai.taco.metrics.Psnr;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code taco demo}: the whole codec on the bundled default (models/demo): compress an image to a TACO file,
 * decompress it, and report rate and quality. The bundled model is a small TACO trained on CPU by this project (see
 * models/demo/README.md), not the paper's; it needs no CLIP weights because it was trained without captions.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description =
        "Compresses and decompresses an image with the bundled demo model (models/demo: a tiny TACO trained on CPU,"
            + " without captions) and prints bpp, PSNR and MS-SSIM as JSON. Outputs go to a new folder (--out, or a"
            + " fresh temporary folder); nothing existing is overwritten.")
public final class DemoCommand implements TacoCommand {
  /** Caption features the demo model was trained with: none (all zeros, [1, 38, 512]); see models/demo/README.md. */
  private static final long[] NO_CAPTION_SHAPE = {1, 38, 512};

  /** The architecture of the bundled demo weights. */
  private static final String DEMO_PRESET = "tiny";

  /** The codec (default weights: models/demo/taco-tiny-demo.safetensors, a tiny TACO). */
  @Mixin CodecOptions codec;

  @Option(names = "--in", paramLabel = "IMG", description = "Image to compress (default: models/demo/kodim23.png).")
  Path in;

  @Option(names = "--out", paramLabel = "DIR", description = "Folder for the outputs; must not exist yet (default: a new temporary folder).")
  Path out;

  @Spec CommandSpec spec;

  public DemoCommand() {}

  @Override
  public Integer call() throws Exception {
    boolean bundled = !codec.hasWeights();
    Path w = bundled ? ModelsFolder.resolve("demo", "taco-tiny-demo.safetensors") : codec.spec().weightsPath();
    Path image = in != null ? in : ModelsFolder.resolve("demo", "kodim23.png");
    if (!Files.isRegularFile(w)) {
      throw new IllegalArgumentException("demo weights not found: " + w + " (see models/demo/README.md)");
    }
    Path dir;
    if (out == null) {
      dir = Files.createTempDirectory("taco-demo-");
    } else if (Files.exists(out)) {
      throw new IllegalArgumentException(out + " exists; give a new folder for the demo outputs");
    } else {
      dir = Files.createDirectories(out);
    }
    String stem = image.getFileName().toString().replaceFirst("\\.[^.]*$", "");
    Path compressed = dir.resolve(stem + ".taco");
    Path decoded = dir.resolve(stem + ".decoded.png");

    HostTensor x = Images.read(image);
    long[] s = x.shape();
    int h = (int) s[2];
    int wd = (int) s[3];
    HostTensor noCaption = HostTensor.ofFloats(new float[38 * 512], NO_CAPTION_SHAPE);
    CodecSpec cs = codec.spec(w);
    if (bundled && cs.preset() == null) {
      cs = new CodecSpec(cs.weights(), DEMO_PRESET, cs.scaleTable(), cs.device(), cs.tile(), cs.subTile(),
          cs.precision());
    }
    String preset = cs.preset() == null ? "inferred" : cs.preset();
    try (TacoCodec codec = cs.build()) {
      long t0 = System.nanoTime();
      TacoFile file = codec.compress(x, noCaption);
      long t1 = System.nanoTime();
      file.write(compressed, false);
      TacoFile coded = TacoFile.read(compressed);
      // Written as the bands are decoded, as taco decompress does (the same encoder: identical files).
      Images.writePngRows(decoded, false, coded.width(), coded.height(),
          bands -> codec.decompress(coded, DecodeOptions.DEFAULT, bands));
      long t2 = System.nanoTime();
      // Quality of what a user gets: the 8-bit PNG, read back.
      float[] ref = x.toFloatArray();
      float[] dec = Images.read(decoded).toFloatArray();
      ObjectNode r = new ObjectMapper().createObjectNode();
      r.put("image", image.toString());
      r.put("weights", w.toString());
      r.put("preset", preset);
      r.put("captions_used", false);
      r.put("precision", cs.precision());
      r.put("height", h);
      r.put("width", wd);
      r.put("compressed", compressed.toString());
      r.put("decoded", decoded.toString());
      long bytes = Files.size(compressed);
      r.put("bytes", bytes);
      r.put("bpp", bytes * 8.0 / ((double) h * wd));
      r.put("psnr_db", Psnr.psnr(ref, dec));
      if (Math.min(h, wd) > MsSsim.MIN_SIDE_EXCLUSIVE) {
        r.put("ms_ssim", MsSsim.msSsim(ref, dec, 1, 3, h, wd));
      }
      r.put("encode_seconds", (t1 - t0) / 1e9);
      r.put("decode_seconds", (t2 - t1) / 1e9);
      spec.commandLine().getOut().println(r.toPrettyString());
      spec.commandLine().getOut().flush();
    }
    return 0;
  }
}
