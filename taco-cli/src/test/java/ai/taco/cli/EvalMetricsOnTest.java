package ai.taco.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.image.Images;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.core.weights.SafeTensors;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code taco eval --metrics-on float|png8} against the official evaluation, on the golden small model's two images
 * and their official outputs (reference/taco-small): the official {@code compute_psnr(x, x_hat)} is taken on the
 * float x_hat, NOT clamped (golden {@code info.psnr_db}); {@code png8} measures the picture the official
 * {@code torchvision.utils.save_image} writes (golden {@code x_hat.save_image.png}). With these random weights a third
 * of x_hat lies outside [0,1], so the two differ by more than 1 dB.
 */
class EvalMetricsOnTest {

  static final String[] IMAGES = {"img0_64x64", "img1_128x192"};
  @TempDir static Path tmp;
  static Path dataset;
  static Path captions;
  static Path embeddings;

  @BeforeAll
  static void prepare() throws Exception {
    dataset = Files.createDirectories(tmp.resolve("golden-images"));
    Map<String, HostTensor> emb = new LinkedHashMap<>();
    Map<String, String> caps = new LinkedHashMap<>();
    for (String n : IMAGES) {
      Files.copy(Golden.golden("taco-small/" + n + ".png"), dataset.resolve(n + ".png"));
      emb.put(n + ".png", Golden.tensors("taco-small/" + n + ".safetensors").get("text_embeddings"));
      caps.put(n + ".png", "the golden text embeddings are random, not this caption's");
    }
    embeddings = tmp.resolve("text.safetensors");
    SafeTensors.write(embeddings, emb, Map.of());
    captions = tmp.resolve("captions.json");
    new ObjectMapper().writeValue(captions.toFile(), caps);
  }

  static List<Map<String, String>> run(String metricsOn, Path out) throws Exception {
    CliTesting.Run r = CliTesting.taco("eval", "--weights",
        Golden.tacoSmallWeights().toString(), "--preset", "small", "--dataset",
        dataset.toString(), "--captions", captions.toString(), "--text-embeddings", embeddings.toString(),
        "--no-jpeg", "--no-reference", "--metrics-on", metricsOn, "--keep-bitstreams", "--save-reconstructions",
        "--no-progress", "--out", out.toString());
    assertEquals(0, r.exit(), r.err());
    return CliTesting.readCsv(out.resolve("per_image.csv"));
  }

  static double psnr(float[] a, float[] b) {
    double se = 0;
    for (int i = 0; i < a.length; i++) {
      double d = (double) a[i] - b[i];
      se += d * d;
    }
    return -10 * Math.log10(se / a.length);
  }

  @Test
  void floatIsTheOfficialPsnrOnTheUnclampedXHat() throws Exception {
    Path out = tmp.resolve("float");
    List<Map<String, String>> rows = run("float", out);
    assertEquals(IMAGES.length, rows.size());
    for (int k = 0; k < IMAGES.length; k++) {
      String n = IMAGES[k];
      Map<String, String> row = rows.get(k);
      assertEquals(n + ".png", row.get("image"));
      SafeTensors.Contents golden = SafeTensors.read(Golden.golden("taco-small/" + n + ".safetensors"));
      // The bitstream is the official one, byte for byte.
      assertArrayEquals(Files.readAllBytes(Golden.golden("taco-small/" + n + ".bin")),
          Files.readAllBytes(out.resolve("bitstreams/TACO_weights.safetensors/" + n + ".bin")));
      double official = new ObjectMapper().readTree(golden.metadata().get("info")).get("psnr_db").asDouble();
      float[] x = golden.tensors().get("x").toFloatArray();
      float[] xHat = golden.tensors().get("decompress.x_hat_cropped").toFloatArray();
      double psnr = Double.parseDouble(row.get("psnr"));
      // The official script's own number (its torch.mean is float32: ~5e-7 dB from the double mean here) and the
      // same formula in double on the official x_hat (our decode is within ~1e-6 of it).
      assertEquals(official, psnr, 2e-6, n);
      assertEquals(psnr(x, xHat), psnr, 1e-6, n);
      float[] clamped = xHat.clone();
      for (int i = 0; i < clamped.length; i++) {
        clamped[i] = Math.max(0f, Math.min(1f, clamped[i]));
      }
      assertTrue(psnr(x, clamped) - psnr > 1, n + ": clamping would change PSNR by more than 1 dB");
      // The saved reconstruction is the official save_image PNG (up to ties at a rounding midpoint).
      float[] saved = Images.read(out.resolve("reconstructions/TACO_weights.safetensors/" + n + ".png")).toFloatArray();
      float[] officialPng = Images.read(Golden.golden("taco-small/" + n + ".x_hat.save_image.png")).toFloatArray();
      Golden.assertSame8BitImage(xHat, officialPng, saved, n);
    }
    String manifest = Files.readString(out.resolve("run.json"));
    assertTrue(manifest.contains("\"on\" : \"float\""), manifest);
  }

  @Test
  void png8IsThePsnrOfTheSavedFigure() throws Exception {
    List<Map<String, String>> rows = run("png8", tmp.resolve("png8"));
    for (int k = 0; k < IMAGES.length; k++) {
      String n = IMAGES[k];
      float[] x = Images.read(Golden.golden("taco-small/" + n + ".png")).toFloatArray();
      float[] officialPng = Images.read(Golden.golden("taco-small/" + n + ".x_hat.save_image.png")).toFloatArray();
      assertEquals(psnr(x, officialPng), Double.parseDouble(rows.get(k).get("psnr")), 1e-6, n);
    }
  }

  @Test
  void badMetricsOnIsOneClearLine() {
    CliTesting.Run r = CliTesting.taco("eval", "--dataset", dataset.toString(), "--metrics-on", "png16",
        "--out", tmp.resolve("bad").toString());
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("--metrics-on must be float or png8"), r.err());
  }
}
