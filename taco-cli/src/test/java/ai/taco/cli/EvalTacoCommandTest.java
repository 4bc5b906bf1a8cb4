package ai.taco.cli;

import static ai.taco.cli.CliTesting.readCsv;
import static ai.taco.cli.CliTesting.taco;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.DataType;
import ai.taco.core.DecodeOptions;
import ai.taco.core.TacoCodec;
import ai.taco.core.TacoConfig;
import ai.taco.core.bitstream.CompressAiFile;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.image.Images;
import ai.taco.core.weights.SafeTensors;
import ai.taco.core.testing.Golden;
import ai.taco.eval.bench.CmmdMetric;
import ai.taco.eval.bench.RgbImage;
import ai.taco.metrics.Fid;
import ai.taco.metrics.InceptionV3;
import ai.taco.metrics.Lpips;
import ai.taco.metrics.MsSsim;
import ai.taco.cli.CliTesting.Run;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `taco eval` with the golden small TACO checkpoint on three Kodak crops, every metric wired (LPIPS, FID and CMMD on the
 * golden random-weight networks), checked for one image against an independent computation: the .bin parsed by hand,
 * bpp from its file size, PSNR recomputed in plain Java from an independent decode of the kept bitstream.
 */
class EvalTacoCommandTest {

  static final Path WEIGHTS = Golden.tacoSmallWeights();
  @TempDir static Path tmp;
  static Path kodak;
  static Path captions;
  static Path embeddings;
  static Path inception;
  static Path visionClip;

  @BeforeAll
  static void prepare() throws Exception {
    CliTesting.EvalInputs in = CliTesting.evalInputs(tmp);
    kodak = in.kodak();
    captions = in.captions();
    embeddings = in.embeddings();
    inception = in.inception();
    visionClip = in.visionClip();
  }

  @Test
  void tacoAndJpegWithLpipsAgreeWithIndependentComputation() throws Exception {
    Path out = tmp.resolve("results");
    Run r = taco("eval", "--weights", WEIGHTS.toString(), "--preset", "small",
        "--dataset", kodak.toString(), "--captions", captions.toString(), "--dataset-name", "kodak",
        "--text-embeddings", embeddings.toString(),
        "--lpips-weights", Golden.golden("lpips/lpips-alex-randtrunk.safetensors").toString(),
        "--jpeg-quality", "50", "--keep-bitstreams", "--save-reconstructions", "--no-progress",
        "--out", out.toString());
    assertEquals(0, r.exit(), r.err());

    List<Map<String, String>> rows = readCsv(out.resolve("per_image.csv"));
    assertEquals(2 * CliTesting.KODAK_IMAGES.length, rows.size());
    Map<String, String> row = rows.stream()
        .filter(m -> m.get("codec").equals("TACO") && m.get("image").equals("kodim07.png")).findFirst()
        .orElseThrow();
    assertEquals("weights.safetensors", row.get("setting"));
    assertTrue(row.get("text_source").startsWith("precomputed CLIP text embeddings"), row.get("text_source"));

    // The official .bin, parsed by hand: H, W, z_h, z_w, 2, len(y), y, len(z), z (big-endian uint32).
    Path bin = out.resolve("bitstreams/TACO_weights.safetensors/kodim07.bin");
    byte[] bytes = Files.readAllBytes(bin);
    ByteBuffer b = ByteBuffer.wrap(bytes);
    assertEquals(CliTesting.H, b.getInt());
    assertEquals(CliTesting.W, b.getInt());
    assertEquals(CliTesting.H / 64, b.getInt());
    assertEquals(CliTesting.W / 64, b.getInt());
    assertEquals(2, b.getInt());
    int ly = b.getInt();
    b.position(b.position() + ly);
    int lz = b.getInt();
    assertEquals(28 + ly + lz, bytes.length);
    assertEquals(Long.toString(bytes.length), row.get("bytes"));
    double bpp = 8.0 * bytes.length / (CliTesting.H * CliTesting.W);
    assertEquals(bpp, Double.parseDouble(row.get("bpp")), 1e-12);

    // PSNR in plain Java from an independent decode of the kept file: on the unclamped x_hat, as the official
    // compute_psnr(x, x_hat) (the default --metrics-on float).
    float[] x = Images.read(kodak.resolve("kodim07.png")).toFloatArray();
    float[] xHat;
    try (TacoCodec codec = TacoCodec.builder().setWeights(WEIGHTS).optConfig(TacoConfig.SMALL).build()) {
      xHat = codec.decompress(CompressAiFile.parse(bytes), DecodeOptions.unclamped()).toFloatArray();
    }
    double se = 0;
    for (int i = 0; i < x.length; i++) {
      double d = (double) x[i] - xHat[i];
      se += d * d;
    }
    double psnr = -10 * Math.log10(se / x.length);
    assertEquals(psnr, Double.parseDouble(row.get("psnr")), 1e-6);
    // The saved reconstruction is what torchvision's save_image writes: uint8(clamp(x_hat*255 + 0.5, 0, 255)).
    float[] png = Images.read(out.resolve("reconstructions/TACO_weights.safetensors/kodim07.png")).toFloatArray();
    for (int i = 0; i < x.length; i++) {
      int expected = (int) Math.max(0f, Math.min(255f, xHat[i] * 255f + 0.5f));
      assertEquals(expected, Math.round(png[i] * 255f), "sample " + i);
    }

    // MS-SSIM and LPIPS: the library calls on the same original and unclamped x_hat.
    assertEquals(MsSsim.msSsim(x, xHat, 1, 3, CliTesting.H, CliTesting.W), Double.parseDouble(row.get("ms_ssim")),
        1e-9);
    try (Lpips net = Lpips.load(Golden.golden("lpips/lpips-alex-randtrunk.safetensors"));
        NDManager m = NDManager.newBaseManager()) {
      long[] shape = {1, 3, CliTesting.H, CliTesting.W};
      double expected = net.distance(m.create(x, new Shape(shape)), m.create(xHat, new Shape(shape)),
          Lpips.InputConvention.TACO_QUIRK)[0];
      assertEquals(expected, Double.parseDouble(row.get("lpips")), 1e-6);
    }

    JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
    assertTrue(summary.get("captions_used").asBoolean());
    assertEquals(List.of("psnr", "ms_ssim", "lpips"),
        List.of(summary.get("metrics").get(0).asText(), summary.get("metrics").get(1).asText(),
            summary.get("metrics").get(2).asText()));
    JsonNode taco = summary.get("points").get(0);
    assertEquals("TACO", taco.get("codec").asText());
    double meanBpp = rows.stream().filter(m -> m.get("codec").equals("TACO"))
        .mapToDouble(m -> Double.parseDouble(m.get("bpp"))).average().orElseThrow();
    assertEquals(meanBpp, taco.get("bpp").asDouble(), 1e-12);
    for (String plot : List.of("rd_psnr.png", "rd_ms_ssim.png", "rd_lpips.png")) {
      assertTrue(Files.size(out.resolve(plot)) > 1000, plot);
    }
  }

  /**
   * FID and CMMD per set (two images: InceptionV3 costs seconds per image on CI), in a run without text embeddings:
   * the zero-text fallback must be labelled in the CSV, the JSON and the Markdown.
   */
  @Test
  void fidAndCmmdPerSetAndTheZeroFallbackLabel() throws Exception {
    Path out = tmp.resolve("results-fid");
    Run r = taco("eval", "--weights", WEIGHTS.toString(), "--preset", "small",
        "--dataset", kodak.toString(), "--captions", captions.toString(), "--inception", inception.toString(),
        "--cmmd-clip", visionClip.toString(), "--no-jpeg", "--limit", "2", "--save-reconstructions", "--no-progress",
        "--out", out.toString());
    assertEquals(0, r.exit(), r.err());
    JsonNode summary = new ObjectMapper().readTree(r.out());
    assertEquals(List.of("fid", "kid", "kid_std", "cmmd"),
        List.of(new ObjectMapper().convertValue(summary.get("set_metrics"), String[].class)));
    JsonNode p = summary.get("points").get(0);
    assertEquals(2, p.get("images").asInt());
    // FID: the library calls on the same files, the two originals and the saved 8-bit reconstructions.
    List<String> names = List.of(CliTesting.KODAK_IMAGES).subList(0, 2);
    double[][] inc = new double[2][];
    try (InceptionV3 net = InceptionV3.load(inception);
        NDManager m = NDManager.newBaseManager()) {
      for (int set = 0; set < 2; set++) {
        inc[set] = new double[2 * InceptionV3.FEATURE_DIM];
        for (int i = 0; i < 2; i++) {
          Path file = set == 0 ? kodak.resolve(names.get(i))
              : out.resolve("reconstructions/TACO_weights.safetensors/" + names.get(i));
          NDArray img = Images.read(file).toNDArray(m);
          float[] f = net.featureArray(img);
          for (int k = 0; k < f.length; k++) {
            inc[set][i * InceptionV3.FEATURE_DIM + k] = f[k];
          }
        }
      }
    }
    double fid = Fid.frechetDistance(inc[0], 2, inc[1], 2, InceptionV3.FEATURE_DIM);
    assertEquals(fid, p.get("fid").asDouble(), 1e-6 * fid);
    // KID from the same features: with two images per set the only subsets are the whole sets, so the unbiased MMD²
    // is k(x0,x1) + k(y0,y1) - (sum of the four cross kernels)/2 with k(u,v) = (u·v/2048 + 1)³, and its spread 0.
    double cross = 0;
    for (int i = 0; i < 2; i++) {
      for (int j = 0; j < 2; j++) {
        cross += polyKernel(inc[0], i, inc[1], j);
      }
    }
    double kid = polyKernel(inc[0], 0, inc[0], 1) + polyKernel(inc[1], 0, inc[1], 1) - cross / 2;
    assertEquals(kid, p.get("kid").asDouble(), 1e-6 * cross, p.toString());
    assertEquals(0, p.get("kid_std").asDouble(), 1e-6 * cross);
    // CMMD: the metric's own calls on the same files (the originals and the saved 8-bit reconstructions).
    try (CmmdMetric cmmd = CmmdMetric.open(visionClip)) {
      List<float[]> originals = new ArrayList<>();
      List<float[]> reconstructions = new ArrayList<>();
      for (String n : names) {
        originals.add(cmmd.features(RgbImage.read(kodak.resolve(n))));
        Path reconstruction = out.resolve("reconstructions/TACO_weights.safetensors/" + n);
        reconstructions.add(cmmd.features(RgbImage.read(reconstruction)));
      }
      double expected = cmmd.distance(originals, reconstructions);
      assertTrue(expected > 0, "CMMD of two different sets");
      assertEquals(expected, p.get("cmmd").asDouble(), 1e-6 * expected, p.toString());
    }
    assertTrue(Files.size(out.resolve("rd_fid.png")) > 1000);
    assertTrue(Files.size(out.resolve("rd_cmmd.png")) > 1000);

    assertFalse(summary.get("captions_used").asBoolean());
    assertTrue(summary.get("text_source").asText().contains("captions NOT used"));
    assertTrue(Files.readString(out.resolve("summary.md")).contains("WITHOUT captions"));
    assertTrue(Files.readString(out.resolve("per_image.csv")).contains("captions NOT used"));
  }

  /** KID's kernel between row i of a and row j of b (pool3 features). */
  private static double polyKernel(double[] a, int i, double[] b, int j) {
    double dot = 0;
    for (int k = 0; k < InceptionV3.FEATURE_DIM; k++) {
      dot += a[i * InceptionV3.FEATURE_DIM + k] * b[j * InceptionV3.FEATURE_DIM + k];
    }
    return Math.pow(dot / InceptionV3.FEATURE_DIM + 1, 3);
  }
}
