package ai.taco.cli;

import static ai.taco.cli.CliTesting.readCsv;
import static ai.taco.cli.CliTesting.taco;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.cli.CliTesting.Run;
import ai.taco.core.testing.Golden;
import ai.taco.core.weights.SafeTensors;
import ai.taco.metrics.PieappTesting;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One recipe per metric: {@code taco eval --metrics-on png8 --save-reconstructions} and the stand-alone commands run
 * on the PNGs eval saved ({@code taco metrics} per image, {@code taco fid} / {@code taco cmmd} per folder) give the
 * same numbers with every option left at its default, and name the same recipe. Networks: the random-weight LPIPS
 * trunk, the Inception fixture, the small CLIP vision tower and random PieAPP weights of the reference data.
 */
class MetricRecipeConsistencyTest {

  static final double REL = 1e-5;
  static final String CODEC = "TACO_weights.safetensors";
  @TempDir static Path tmp;
  static CliTesting.EvalInputs in;
  static Path lpips;
  static Path pieapp;
  static Path out;

  @BeforeAll
  static void evaluate() throws Exception {
    in = CliTesting.evalInputs(tmp);
    lpips = Golden.golden("lpips/lpips-alex-randtrunk.safetensors");
    pieapp = tmp.resolve("pieapp-random.safetensors");
    SafeTensors.write(pieapp, PieappTesting.randomWeights(), Map.of());
    out = tmp.resolve("eval");
    Run r = taco("eval", "--weights", Golden.tacoSmallWeights().toString(), "--preset", "small",
        "--dataset", in.kodak().toString(), "--captions", in.captions().toString(),
        "--text-embeddings", in.embeddings().toString(), "--no-jpeg", "--no-reference", "--metrics-on", "png8",
        "--lpips-weights", lpips.toString(), "--pieapp-weights", pieapp.toString(),
        "--inception", in.inception().toString(), "--cmmd-clip", in.visionClip().toString(),
        "--save-reconstructions", "--no-progress", "--out", out.toString());
    assertEquals(0, r.exit(), r.err());
  }

  static void assertRel(double expected, double actual, String what) {
    assertTrue(Double.isFinite(expected) && Double.isFinite(actual), what + ": " + expected + " vs " + actual);
    assertEquals(expected, actual, REL * Math.max(Math.abs(expected), 1e-12), what);
  }

  @Test
  void perImageMetricsEqualTacoMetricsOnTheSavedPngs() throws Exception {
    List<Map<String, String>> rows = readCsv(out.resolve("per_image.csv"));
    assertEquals(CliTesting.KODAK_IMAGES.length, rows.size());
    for (Map<String, String> row : rows) {
      String n = row.get("image");
      Path saved = out.resolve("reconstructions").resolve(CODEC).resolve(n);
      Run m = taco("metrics", "--ref", in.kodak().resolve(n).toString(), "--dist", saved.toString(),
          "--lpips-weights", lpips.toString(), "--pieapp-weights", pieapp.toString());
      assertEquals(0, m.exit(), m.err());
      JsonNode j = m.json();
      for (String metric : List.of("psnr", "ms_ssim", "lpips", "pieapp")) {
        assertRel(j.get(metric).asDouble(), Double.parseDouble(row.get(metric)), n + " " + metric);
      }
      assertEquals("taco", j.get("lpips_input").asText(), "taco metrics names its LPIPS input convention");
    }
    JsonNode manifest = new ObjectMapper().readTree(out.resolve("run.json").toFile());
    assertEquals("taco", manifest.findValue("lpips").get("input").asText(), manifest.toString());
    assertEquals("cmmd-pytorch", manifest.findValue("cmmd").get("recipe").asText(), manifest.toString());
  }

  @Test
  void setMetricsEqualTacoFidAndTacoCmmdOnTheSavedFolder() throws Exception {
    JsonNode point = new ObjectMapper().readTree(out.resolve("summary.json").toFile()).get("points").get(0);
    Path recon = out.resolve("reconstructions").resolve(CODEC);
    Run fid = taco("fid", "--ref", in.kodak().toString(), "--dist", recon.toString(), "--inception",
        in.inception().toString());
    assertEquals(0, fid.exit(), fid.err());
    assertRel(fid.json().get("fid").asDouble(), point.get("fid").asDouble(), "fid");
    assertRel(fid.json().get("kid").asDouble(), point.get("kid").asDouble(), "kid");

    Run cmmd = taco("cmmd", "--ref", in.kodak().toString(), "--dist", recon.toString(), "--clip",
        in.visionClip().toString());
    assertEquals(0, cmmd.exit(), cmmd.err());
    assertRel(cmmd.json().get("cmmd").asDouble(), point.get("cmmd").asDouble(), "cmmd");
    assertEquals("cmmd-pytorch", cmmd.json().get("cmmd_recipe").asText());

    // The alternative recipes are real alternatives: they change the number (so the equality above is not vacuous).
    for (String recipe : List.of("google-research", "clip-no-projection")) {
      Run alt = taco("cmmd", "--ref", in.kodak().toString(), "--dist", recon.toString(), "--clip",
          in.visionClip().toString(), "--cmmd-recipe", recipe);
      assertEquals(0, alt.exit(), alt.err());
      assertEquals(recipe, alt.json().get("cmmd_recipe").asText());
      assertNotEquals(cmmd.json().get("cmmd").asDouble(), alt.json().get("cmmd").asDouble(), recipe);
    }
  }

  @Test
  void unknownRecipesAreOneClearLine() {
    Run bad = taco("cmmd", "--ref", in.kodak().toString(), "--dist", in.kodak().toString(), "--clip",
        in.visionClip().toString(), "--cmmd-recipe", "pil");
    assertTrue(bad.exit() != 0 && bad.err().contains("--cmmd-recipe must be"), bad.err());
    Run lp = taco("metrics", "--ref", in.kodak().resolve("kodim01.png").toString(), "--dist",
        in.kodak().resolve("kodim01.png").toString(), "--lpips-input", "TACO_QUIRK");
    assertTrue(lp.exit() != 0 && lp.err().contains("--lpips-input must be taco or standard"), lp.err());
  }
}
