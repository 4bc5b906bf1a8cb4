package ai.taco.eval.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import ai.taco.core.DecodeOptions;
import ai.taco.core.TacoCodec;
import ai.taco.core.TacoConfig;
import ai.taco.core.io.CompressAiFile;
import ai.taco.core.io.HostTensor;
import ai.taco.core.io.Images;
import ai.taco.core.io.SafeTensors;
import ai.taco.core.testing.Golden;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
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

  static final Path WEIGHTS = Golden.golden("taco-small/weights.safetensors");
  @TempDir static Path tmp;
  static Path kodak;
  static Path captions;
  static Path embeddings;
  static Path inception;
  static Path visionClip;

  @BeforeAll
  static void prepare() throws Exception {
    EvalCommandTest.tmp = tmp;
    EvalCommandTest.cropKodak();
    kodak = EvalCommandTest.kodak;
    captions = EvalCommandTest.captions;
    // Per-image text embeddings (CLIP weights are not available here): random, keyed by file name.
    Map<String, HostTensor> emb = new LinkedHashMap<>();
    Random rnd = new Random(7);
    for (String n : EvalCommandTest.IMAGES) {
      float[] v = new float[38 * 512];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) rnd.nextGaussian();
      }
      emb.put(n, HostTensor.ofFloats(v, 1, 38, 512));
    }
    embeddings = tmp.resolve("text.safetensors");
    SafeTensors.write(embeddings, emb, Map.of());
    inception = dequantizedInception(tmp.resolve("inception.safetensors"));
    visionClip = Files.createDirectories(tmp.resolve("clip-vision-small"));
    Files.copy(Golden.golden("clip/vision-small-config.json"), visionClip.resolve("config.json"));
    Files.copy(Golden.golden("clip/vision-small.safetensors"), visionClip.resolve("model.safetensors"));
  }

  /** The golden random InceptionV3 (int8 power-of-two grid) as float32 safetensors under pytorch-fid key names. */
  static Path dequantizedInception(Path out) throws Exception {
    SafeTensors.Contents c = SafeTensors.read(Golden.golden("fid/inception-fid-int8.safetensors"));
    JsonNode exps = new ObjectMapper().readTree(c.metadata().get("int8_pow2_exponents"));
    Map<String, HostTensor> w = new LinkedHashMap<>();
    c.tensors().forEach((k, t) -> {
      if (t.dataType() == DataType.INT8) {
        float[] q = t.toFloatArray();
        float scale = (float) Math.scalb(1.0, exps.get(k).asInt());
        for (int i = 0; i < q.length; i++) {
          q[i] *= scale;
        }
        w.put(k, HostTensor.ofFloats(q, t.shape()));
      } else {
        w.put(k, t);
      }
    });
    SafeTensors.write(out, w, Map.of());
    return out;
  }

  @Test
  void tacoAndJpegWithLpipsAgreeWithIndependentComputation() throws Exception {
    Path out = tmp.resolve("results");
    EvalCommandTest.Run r = EvalCommandTest.taco("eval", "--weights", WEIGHTS.toString(), "--preset", "small",
        "--dataset", kodak.toString(), "--captions", captions.toString(), "--dataset-name", "kodak",
        "--text-embeddings", embeddings.toString(),
        "--lpips-weights", Golden.golden("lpips/lpips-alex-randtrunk.safetensors").toString(),
        "--jpeg-quality", "50", "--keep-bitstreams", "--save-reconstructions", "--no-progress",
        "--out", out.toString());
    assertEquals(0, r.exit(), r.err());

    List<Map<String, String>> rows = EvalCommandTest.readCsv(out.resolve("per_image.csv"));
    assertEquals(2 * EvalCommandTest.IMAGES.length, rows.size());
    Map<String, String> row = rows.stream()
        .filter(m -> m.get("codec").equals("TACO") && m.get("image").equals("kodim07.png")).findFirst()
        .orElseThrow();
    assertEquals("weights.safetensors", row.get("setting"));
    assertTrue(row.get("text_source").startsWith("precomputed CLIP text embeddings"), row.get("text_source"));

    // The official .bin, parsed by hand: H, W, z_h, z_w, 2, len(y), y, len(z), z (big-endian uint32).
    Path bin = out.resolve("bitstreams/TACO_weights.safetensors/kodim07.bin");
    byte[] bytes = Files.readAllBytes(bin);
    ByteBuffer b = ByteBuffer.wrap(bytes);
    assertEquals(EvalCommandTest.H, b.getInt());
    assertEquals(EvalCommandTest.W, b.getInt());
    assertEquals(EvalCommandTest.H / 64, b.getInt());
    assertEquals(EvalCommandTest.W / 64, b.getInt());
    assertEquals(2, b.getInt());
    int ly = b.getInt();
    b.position(b.position() + ly);
    int lz = b.getInt();
    assertEquals(28 + ly + lz, bytes.length);
    assertEquals(Long.toString(bytes.length), row.get("bytes"));
    double bpp = 8.0 * bytes.length / (EvalCommandTest.H * EvalCommandTest.W);
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

    double msSsim = Double.parseDouble(row.get("ms_ssim"));
    double lpips = Double.parseDouble(row.get("lpips"));
    assertTrue(msSsim > -1 && msSsim <= 1, "ms_ssim " + msSsim);
    assertTrue(lpips >= 0 && Double.isFinite(lpips), "lpips " + lpips);

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
    EvalCommandTest.Run r = EvalCommandTest.taco("eval", "--weights", WEIGHTS.toString(), "--preset", "small",
        "--dataset", kodak.toString(), "--captions", captions.toString(), "--inception", inception.toString(),
        "--cmmd-clip", visionClip.toString(), "--no-jpeg", "--limit", "2", "--no-progress", "--out", out.toString());
    assertEquals(0, r.exit(), r.err());
    JsonNode summary = new ObjectMapper().readTree(r.out());
    assertEquals("fid", summary.get("set_metrics").get(0).asText());
    assertEquals("cmmd", summary.get("set_metrics").get(1).asText());
    JsonNode p = summary.get("points").get(0);
    assertEquals(2, p.get("images").asInt());
    // Distances between originals and (different) reconstructions: finite and positive.
    assertTrue(p.get("fid").asDouble() > 0 && Double.isFinite(p.get("fid").asDouble()), p.toString());
    assertTrue(p.get("cmmd").asDouble() > 0 && Double.isFinite(p.get("cmmd").asDouble()), p.toString());
    assertTrue(Files.size(out.resolve("rd_fid.png")) > 1000);
    assertTrue(Files.size(out.resolve("rd_cmmd.png")) > 1000);

    assertFalse(summary.get("captions_used").asBoolean());
    assertTrue(summary.get("text_source").asText().contains("captions NOT used"));
    assertTrue(Files.readString(out.resolve("summary.md")).contains("WITHOUT captions"));
    assertTrue(Files.readString(out.resolve("per_image.csv")).contains("captions NOT used"));
  }
}
