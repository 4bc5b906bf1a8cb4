package ai.taco.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.SafeTensors;
import ai.taco.core.testing.Golden;
import ai.taco.cli.CliTesting.Run;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The metrics/fid/cmmd subcommands end to end on golden inputs (values, JSON, errors, exit codes). */
class MetricsCliTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  static Run run(String... args) {
    return CliTesting.taco(args);
  }


  /** Writes a [1,3,H,W] U8 golden tensor as an RGB PNG. */
  static Path png(HostTensor t, Path file) throws Exception {
    assertEquals(DataType.UINT8, t.dataType());
    byte[] v = t.toByteArray();
    int h = (int) t.shape()[2];
    int w = (int) t.shape()[3];
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int i = y * w + x;
        int r = v[i] & 0xff;
        int g = v[h * w + i] & 0xff;
        int b = v[2 * h * w + i] & 0xff;
        img.setRGB(x, y, (r << 16) | (g << 8) | b);
      }
    }
    ImageIO.write(img, "png", file.toFile());
    return file;
  }

  @Test
  void metricsOnTheLpipsExamplePair(@TempDir Path dir) throws Exception {
    Map<String, HostTensor> cases = Golden.tensors("lpips/lpips-cases.safetensors");
    Path a = png(cases.get("pair0.x0_u8"), dir.resolve("ref.png"));
    Path b = png(cases.get("pair0.x1"), dir.resolve("p0.png"));
    String weights = Golden.golden("lpips/lpips-alex-randtrunk.safetensors").toString();
    // Default: the official TACO convention ([0,1] fed as is), the same default as taco eval and taco train.
    Run r = run("metrics", "--ref", a.toString(), "--dist", b.toString(), "--lpips-weights", weights);
    assertEquals(0, r.code(), r.err());
    JsonNode j = r.json();
    float taco = cases.get("pair0.lpips_taco01").toFloatArray()[0];
    assertEquals(taco, j.get("lpips").asDouble(), 1e-5 * taco);
    assertEquals("taco", j.get("lpips_input").asText());
    // Independent PSNR: integer differences of the two u8 images.
    byte[] x = cases.get("pair0.x0_u8").toByteArray();
    byte[] y = cases.get("pair0.x1").toByteArray();
    double s = 0;
    for (int i = 0; i < x.length; i++) {
      double d = ((x[i] & 0xff) - (y[i] & 0xff)) / 255.0;
      s += d * d;
    }
    assertEquals(-10 * Math.log10(s / x.length), j.get("psnr").asDouble(), 1e-6);
    assertTrue(j.get("ms_ssim").isNull(), "64x64 is too small for MS-SSIM: null, with a warning");
    assertTrue(j.get("ssim").asDouble() > 0 && j.get("ssim").asDouble() < 1);

    Run q = run("metrics", "--ref", a.toString(), "--dist", b.toString(), "--lpips-weights", weights,
        "--lpips-input", "standard");
    float m11 = cases.get("pair0.lpips_m11").toFloatArray()[0];
    assertEquals(m11, q.json().get("lpips").asDouble(), 1e-5 * m11);
    assertEquals("standard", q.json().get("lpips_input").asText());

    Run none = run("metrics", "--ref", a.toString(), "--dist", b.toString(), "--models", dir.toString());
    assertEquals(0, none.code(), none.err());
    assertFalse(none.json().has("lpips"), "no weights given or found: no lpips");

    // Default location: models/lpips/alexnet-owt-7be5be79.pth (here safetensors content; the format is detected by
    // content) + the converted heads models/lpips/alex.safetensors.
    Map<String, HostTensor> trunk = new LinkedHashMap<>();
    Map<String, HostTensor> heads = new LinkedHashMap<>();
    Golden.tensors("lpips/lpips-alex-randtrunk.safetensors").forEach((k, t) -> {
      if (k.startsWith("net.slice")) {
        trunk.put("features." + k.substring(k.indexOf('.', 4) + 1), t);
      } else if (k.startsWith("lin") && !k.startsWith("lins.")) {
        heads.put(k, t);
      }
    });
    Path models = dir.resolve("models");
    Files.createDirectories(models.resolve("lpips"));
    SafeTensors.write(models.resolve("lpips/alexnet-owt-7be5be79.pth"), trunk, Map.of());
    SafeTensors.write(models.resolve("lpips/alex.safetensors"), heads, Map.of());
    Run found = run("metrics", "--ref", a.toString(), "--dist", b.toString(), "--models", models.toString());
    assertEquals(0, found.code(), found.err());
    assertEquals(taco, found.json().get("lpips").asDouble(), 1e-5 * taco, "weights found under models/");
  }

  @Test
  void clearErrorsForBadInput(@TempDir Path dir) throws Exception {
    Map<String, HostTensor> cases = Golden.tensors("lpips/lpips-cases.safetensors");
    Path a = png(cases.get("pair0.x0_u8"), dir.resolve("a.png"));
    Path big = png(cases.get("pair2.x0_u8"), dir.resolve("big.png"));
    Path text = Files.writeString(dir.resolve("notes.png"), "not an image");
    Run mismatch = run("metrics", "--ref", a.toString(), "--dist", big.toString());
    assertEquals(2, mismatch.code());
    assertTrue(mismatch.err().contains("differ in size"), mismatch.err());
    Run bad = run("metrics", "--ref", a.toString(), "--dist", text.toString());
    assertEquals(2, bad.code());
    assertTrue(bad.err().contains("not an image"), bad.err());
    Run missing = run("metrics", "--ref", a.toString(), "--dist", a.toString(), "--lpips-weights",
        dir.resolve("nope.pth").toString());
    assertEquals(2, missing.code());
    assertTrue(missing.err().contains("nope.pth"), missing.err());
    Run fid = run("fid", "--ref", dir.toString(), "--dist", dir.toString(), "--inception",
        dir.resolve("nope.pth").toString());
    assertEquals(2, fid.code());
  }

  @Test
  void cmmdOnEmbeddingFiles(@TempDir Path dir) throws Exception {
    Map<String, HostTensor> g = Golden.tensors("cmmd/cmmd.safetensors");
    Path x = dir.resolve("x.safetensors");
    Path y = dir.resolve("y.safetensors");
    SafeTensors.write(x, Map.of("embeddings", g.get("x")), Map.of());
    SafeTensors.write(y, Map.of("embeddings", g.get("y")), Map.of());
    Run r = run("cmmd", "--ref", x.toString(), "--dist", y.toString());
    assertEquals(0, r.code(), r.err());
    // The golden rows are already unit-norm, so the float64 golden applies.
    assertEquals(g.get("mmd_xy_float64").toDoubleArray()[0], r.json().get("cmmd").asDouble(), 1e-5);
  }

  @Test
  void cmmdOnImageFoldersWithASmallClip(@TempDir Path dir) throws Exception {
    Path clip = Files.createDirectories(dir.resolve("clip"));
    Files.copy(Golden.golden("clip/vision-small-config.json"), clip.resolve("config.json"));
    Files.copy(Golden.golden("clip/vision-small.safetensors"), clip.resolve("model.safetensors"));
    Map<String, HostTensor> lp = Golden.tensors("lpips/lpips-cases.safetensors");
    Path a = Files.createDirectories(dir.resolve("a"));
    Path b = Files.createDirectories(dir.resolve("b"));
    png(lp.get("pair0.x0_u8"), a.resolve("0.png"));
    png(lp.get("pair2.x0_u8"), a.resolve("1.png"));
    png(lp.get("pair0.x1"), b.resolve("0.png"));
    png(lp.get("pair3.x0_u8"), b.resolve("1.png"));
    png(lp.get("pair1.x1"), b.resolve("2.png"));
    Run self = run("cmmd", "--ref", a.toString(), "--dist", a.toString(), "--clip", clip.toString());
    assertEquals(0, self.code(), self.err());
    assertEquals(0.0, self.json().get("cmmd").asDouble(), 1e-9, "a set against itself");
    Path saved = dir.resolve("emb.safetensors");
    Run r = run("cmmd", "--ref", a.toString(), "--dist", b.toString(), "--clip", clip.toString(),
        "--save-embeddings", saved.toString());
    assertEquals(0, r.code(), r.err());
    assertEquals(3, r.json().get("dist_count").asInt());
    Map<String, HostTensor> e = SafeTensors.read(saved).tensors();
    assertEquals(32, e.get("ref").shape()[1]);
    // Independent estimator on the saved unit-norm embeddings (double precision, diagonals included).
    float[] x = e.get("ref").toFloatArray();
    float[] y = e.get("dist").toFloatArray();
    double kxx = meanRbf(x, 2, x, 2), kyy = meanRbf(y, 3, y, 3), kxy = meanRbf(x, 2, y, 3);
    assertEquals(1000 * (kxx + kyy - 2 * kxy), r.json().get("cmmd").asDouble(), 1e-6); // |a-b|² vs norm expansion
    Run reuse = run("cmmd", "--ref", saved.toString(), "--dist", b.toString(), "--clip", clip.toString());
    assertEquals(r.json().get("cmmd").asDouble(), reuse.json().get("cmmd").asDouble(), 1e-6, "saved ref reused");
    Run noClip = run("cmmd", "--ref", a.toString(), "--dist", b.toString(), "--clip", dir.resolve("x").toString());
    assertEquals(2, noClip.code());
    assertTrue(noClip.err().contains("CLIP model folder not found"), noClip.err());
  }

  private static double meanRbf(float[] a, int na, float[] b, int nb) {
    int d = a.length / na;
    double s = 0;
    for (int i = 0; i < na; i++) {
      for (int j = 0; j < nb; j++) {
        double sq = 0;
        for (int k = 0; k < d; k++) {
          double t = a[i * d + k] - b[j * d + k];
          sq += t * t;
        }
        s += Math.exp(-sq / (2 * 10.0 * 10.0));
      }
    }
    return s / (na * nb);
  }

  @Test
  void fidBetweenTwoFoldersAndSavedFeatures(@TempDir Path dir) throws Exception {
    // Dequantized random Inception weights written as safetensors under the pytorch-fid key names.
    Path weights = Golden.dequantizedInception(dir.resolve("inception.safetensors"));
    Path ref = Files.createDirectories(dir.resolve("ref"));
    Path dist = Files.createDirectories(dir.resolve("dist"));
    Map<String, HostTensor> lp = Golden.tensors("lpips/lpips-cases.safetensors");
    png(lp.get("pair0.x0_u8"), ref.resolve("a.png"));
    png(lp.get("pair1.x1"), ref.resolve("b.png"));
    png(lp.get("pair0.x1"), dist.resolve("a.png"));
    png(lp.get("pair3.x0_u8"), dist.resolve("b.png"));
    Files.writeString(dist.resolve("readme.txt"), "ignored: not an image extension");
    Path feats = dir.resolve("features.safetensors");
    Run r = run("fid", "--ref", ref.toString(), "--dist", dist.toString(), "--inception", weights.toString(),
        "--save-features", feats.toString(), "--batch-size", "2");
    assertEquals(0, r.code(), r.err());
    assertEquals(2, r.json().get("ref_count").asInt());
    Map<String, HostTensor> f = SafeTensors.read(feats).tensors();
    assertEquals(2, f.get("ref").shape()[0]);
    assertEquals(2048, f.get("dist").shape()[1]);
    // Independent check of the Frechet step with 2 samples per set: each covariance is the rank-1 matrix
    // d dᵀ / 2 with d = f1 - f0, so tr sqrt(S1 S2) = |d1·d2| / 2 and FID has a closed form.
    float[] fr = f.get("ref").toFloatArray();
    float[] fd = f.get("dist").toFloatArray();
    double mu = 0, d1d1 = 0, d2d2 = 0, d1d2 = 0;
    for (int k = 0; k < 2048; k++) {
      double m1 = (fr[k] + fr[2048 + k]) / 2.0, m2 = (fd[k] + fd[2048 + k]) / 2.0;
      double d1 = fr[2048 + k] - fr[k], d2 = fd[2048 + k] - fd[k];
      mu += (m1 - m2) * (m1 - m2);
      d1d1 += d1 * d1;
      d2d2 += d2 * d2;
      d1d2 += d1 * d2;
    }
    double expected = mu + d1d1 / 2 + d2d2 / 2 - Math.abs(d1d2);
    assertEquals(expected, r.json().get("fid").asDouble(), 1e-6 * expected);
    // KID with 2 images per set: the only subsets are the whole sets, so the unbiased MMD² is
    // k(x0,x1) + k(y0,y1) - (sum of the four cross kernels)/2, with k(u,v) = (u·v/2048 + 1)³, and the spread is 0.
    double kx = poly(fr, 0, fr, 1), ky = poly(fd, 0, fd, 1);
    double cross = poly(fr, 0, fd, 0) + poly(fr, 0, fd, 1) + poly(fr, 1, fd, 0) + poly(fr, 1, fd, 1);
    double kid = kx + ky - cross / 2;
    assertEquals(kid, r.json().get("kid").asDouble(), 1e-9 * Math.abs(cross));
    assertEquals(0, r.json().get("kid_std").asDouble(), 1e-9 * Math.abs(cross));
    assertEquals(2, r.json().get("kid_subset_size").asInt());
    Run again = run("fid", "--ref", ref.toString(), "--dist", dist.toString(), "--inception", weights.toString(),
        "--save-features", feats.toString());
    assertEquals(2, again.code());
    assertTrue(again.err().contains("--force"), again.err());
  }

  /** The KID polynomial kernel between row i of a and row j of b (2048-d features). */
  private static double poly(float[] a, int i, float[] b, int j) {
    double dot = 0;
    for (int k = 0; k < 2048; k++) {
      dot += (double) a[i * 2048 + k] * b[j * 2048 + k];
    }
    return Math.pow(dot / 2048 + 1, 3);
  }

  @Test
  void pieappOfOnePair(@TempDir Path dir) throws Exception {
    // The random PieAPP of the reference data, written out as a weights file (about 270 MB, in the temp dir).
    Path weights = dir.resolve("pieapp.safetensors");
    SafeTensors.write(weights, ai.taco.metrics.PieappTesting.randomWeights(), Map.of());
    Map<String, HostTensor> cases = Golden.tensors("pieapp/pieapp-cases.safetensors");
    Path ref = png(cases.get("ref_u8"), dir.resolve("ref.png"));
    Path dist = png(cases.get("dist_u8"), dir.resolve("dist.png"));
    Run r = run("metrics", "--ref", ref.toString(), "--dist", dist.toString(), "--pieapp-weights",
        weights.toString());
    assertEquals(0, r.code(), r.err());
    float expected = cases.get("score").toFloatArray()[0]; // piq PieAPP(x=dist, y=ref), first pair
    assertEquals(expected, r.json().get("pieapp").asDouble(), 1e-5 * Math.abs(expected));
    Path models = Files.createDirectories(dir.resolve("models"));
    Run none = run("metrics", "--ref", ref.toString(), "--dist", dist.toString(), "--models", models.toString());
    assertEquals(0, none.code(), none.err());
    assertFalse(none.json().has("pieapp"), "no PieAPP without its weights");
    // The default place under --models is read without a flag.
    Files.createDirectories(models.resolve("pieapp"));
    Files.move(weights, models.resolve(MetricsCommand.DEFAULT_PIEAPP));
    Run byDefault = run("metrics", "--ref", ref.toString(), "--dist", dist.toString(), "--models", models.toString());
    assertEquals(0, byDefault.code(), byDefault.err());
    assertEquals(expected, byDefault.json().get("pieapp").asDouble(), 1e-5 * Math.abs(expected));
  }
}
