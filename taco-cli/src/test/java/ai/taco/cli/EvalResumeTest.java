package ai.taco.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.testing.Golden;
import ai.taco.cli.CliTesting.Run;
import ai.taco.eval.bench.EvalResults;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code taco eval --resume} on the golden small TACO model, JPEG, FID and CMMD over three Kodak crops: a run killed
 * after two results (plus a half-written CSV line and a half-written feature row, as a crash mid-write leaves them)
 * and then resumed computes only the four missing (image, point) pairs and ends with the same per_image.csv, features
 * and summary (FID and CMMD included) as an uninterrupted run; a resume with other weights is refused.
 */
class EvalResumeTest {

  @TempDir static Path tmp;
  static Path reference;
  static CliTesting.EvalInputs inputs;

  static final String TACO_POINT = "TACO_weights.safetensors";

  /** The arguments of every run here, with --out last. */
  static List<String> args(Path weights, Path out, String... extra) {
    List<String> a = new ArrayList<>(List.of("eval", "--weights", weights.toString(), "--preset", "small",
        "--dataset", inputs.kodak().toString(), "--captions", inputs.captions().toString(),
        "--text-embeddings", inputs.embeddings().toString(),
        "--inception", inputs.inception().toString(),
        "--cmmd-clip", inputs.visionClip().toString(),
        "--jpeg-quality", "50", "--no-progress"));
    a.addAll(List.of(extra));
    a.add("--out");
    a.add(out.toString());
    return a;
  }

  /** Runs {@code taco eval} in-process with a hook after each recorded result. */
  static Run taco(List<String> args, Consumer<EvalResults.ImageResult> afterEach) {
    return CliTesting.taco(
        cl -> ((EvalCommand) cl.getSubcommands().get("eval").getCommand()).afterEachResult = afterEach,
        args.toArray(String[]::new));
  }


  @BeforeAll
  static void uninterruptedRun() throws Exception {
    inputs = CliTesting.evalInputs(tmp);
    reference = tmp.resolve("uninterrupted");
    Run r = taco(args(EvalTacoCommandTest.WEIGHTS, reference), x -> {});
    assertEquals(0, r.exit(), r.err());
  }

  /** Simulated crash: the hook throws after {@code n} new results, as a kill would stop the run. */
  static Consumer<EvalResults.ImageResult> crashAfter(int n, List<String> seen) {
    return r -> {
      seen.add(r.codec() + " " + r.image());
      if (seen.size() == n) {
        throw new IllegalStateException("simulated crash after " + n + " results");
      }
    };
  }

  @Test
  void interruptedThenResumedEqualsUninterrupted() throws Exception {
    Path out = tmp.resolve("interrupted");
    List<String> first = new ArrayList<>();
    Run r = taco(args(EvalTacoCommandTest.WEIGHTS, out), crashAfter(2, first));
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("simulated crash"), r.err());
    assertFalse(Files.exists(out.resolve("summary.json")));
    // What the crash left: the manifest, the header and two flushed rows, two feature rows per set metric.
    assertTrue(Files.isRegularFile(out.resolve("run.json")));
    List<String> csv = Files.readAllLines(out.resolve("per_image.csv"));
    assertEquals(3, csv.size(), csv.toString());
    for (String m : List.of("fid", "cmmd")) {
      assertEquals(3, Files.readAllLines(out.resolve("features/" + m + "/" + TACO_POINT + ".txt")).size());
      assertEquals(3, Files.readAllLines(out.resolve("features/" + m + "/original.txt")).size());
    }
    // A crash in the middle of the next writes: half a CSV row and a partial feature row.
    List<String> full = Files.readAllLines(reference.resolve("per_image.csv"));
    Files.writeString(out.resolve("per_image.csv"), full.get(3).substring(0, 25), StandardOpenOption.APPEND);
    Path f32 = out.resolve("features/fid/" + TACO_POINT + ".f32");
    Files.write(f32, new byte[1000], StandardOpenOption.APPEND);

    List<String> resumed = new ArrayList<>();
    r = taco(args(EvalTacoCommandTest.WEIGHTS, out, "--resume"), x -> resumed.add(x.codec() + " " + x.image()));
    assertEquals(0, r.exit(), r.err());
    // Only the missing pairs were computed: the third TACO image and the three JPEG ones.
    assertEquals(List.of("TACO kodim23.png", "JPEG kodim01.png", "JPEG kodim07.png", "JPEG kodim23.png"), resumed);

    assertEquals(full, Files.readAllLines(out.resolve("per_image.csv")));
    for (String m : List.of("fid", "cmmd")) {
      for (String stem : List.of(TACO_POINT, "JPEG_q=50", "original")) {
        for (String ext : List.of(".f32", ".txt")) {
          Path rel = Path.of("features", m, stem + ext);
          assertArrayEquals(Files.readAllBytes(reference.resolve(rel)), Files.readAllBytes(out.resolve(rel)),
              rel.toString());
        }
      }
    }
    ObjectMapper om = new ObjectMapper();
    JsonNode a = om.readTree(reference.resolve("summary.json").toFile());
    JsonNode b = om.readTree(out.resolve("summary.json").toFile());
    assertEquals(a, b);
    assertEquals(a, om.readTree(r.out()));
    JsonNode taco = b.get("points").get(0);
    assertTrue(Double.isFinite(taco.get("fid").asDouble()) && taco.get("fid").asDouble() > 0, taco.toString());
    assertTrue(Double.isFinite(taco.get("cmmd").asDouble()) && taco.get("cmmd").asDouble() > 0, taco.toString());
    assertTrue(Files.size(out.resolve("rd_fid.png")) > 1000);
  }

  @Test
  void featureFilesAreRawFloat32WithAnIndex() throws Exception {
    Path idx = reference.resolve("features/fid/" + TACO_POINT + ".txt");
    List<String> lines = Files.readAllLines(idx, StandardCharsets.UTF_8);
    assertEquals(List.of("# dim=2048", "kodim01.png", "kodim07.png", "kodim23.png"), lines);
    assertEquals(3L * 2048 * 4, Files.size(reference.resolve("features/fid/" + TACO_POINT + ".f32")));
  }

  @Test
  void resumeWithOtherWeightsIsRefusedNamingTheDifference() throws Exception {
    Path out = tmp.resolve("other-weights");
    copyTree(reference, out);
    // Same file name, one byte more: another checkpoint.
    Path other = Files.createDirectories(tmp.resolve("other")).resolve("weights.safetensors");
    Files.copy(EvalTacoCommandTest.WEIGHTS, other);
    Files.write(other, new byte[] {0}, StandardOpenOption.APPEND);
    byte[] csvBefore = Files.readAllBytes(out.resolve("per_image.csv"));
    Run r = taco(args(other, out, "--resume"), x -> {
      throw new AssertionError("nothing may be computed");
    });
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("cannot resume"), r.err());
    assertTrue(r.err().contains("codecs.\"TACO weights.safetensors\".weights_sha256"), r.err());
    assertArrayEquals(csvBefore, Files.readAllBytes(out.resolve("per_image.csv")));

    // Another caption mode and another metric input are named too.
    r = taco(args(EvalTacoCommandTest.WEIGHTS, out, "--resume", "--caption-mode", "empty", "--metrics-on", "png8"),
        x -> {});
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("text.caption_mode: run.json has 'dataset', this run has 'empty'"), r.err());
    assertTrue(r.err().contains("metrics.on: run.json has 'float', this run has 'png8'"), r.err());
  }

  @Test
  void resumeOfAFinishedRunComputesNothingAndRewritesTheSameSummary() throws Exception {
    Path out = tmp.resolve("finished");
    copyTree(reference, out);
    Files.delete(out.resolve("summary.json"));
    Run r = taco(args(EvalTacoCommandTest.WEIGHTS, out, "--resume"), x -> {
      throw new AssertionError("nothing may be computed");
    });
    assertEquals(0, r.exit(), r.err());
    assertEquals(Files.readString(reference.resolve("summary.json")), Files.readString(out.resolve("summary.json")));
  }

  @Test
  void outputFolderRules() throws Exception {
    // Non-empty without --resume or --force: refused, pointing at both.
    Path out = tmp.resolve("rules");
    copyTree(reference, out);
    Run r = taco(args(EvalTacoCommandTest.WEIGHTS, out), x -> {});
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("--resume") && r.err().contains("--force"), r.err());
    r = taco(args(EvalTacoCommandTest.WEIGHTS, out, "--resume", "--force"), x -> {});
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("give one of them"), r.err());
    // A non-empty folder that is not a run.
    Path foreign = Files.createDirectories(tmp.resolve("foreign"));
    Files.writeString(foreign.resolve("notes.txt"), "mine");
    r = taco(args(EvalTacoCommandTest.WEIGHTS, foreign, "--resume"), x -> {});
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("holds no run.json"), r.err());
    assertEquals("mine", Files.readString(foreign.resolve("notes.txt")));
  }

  static void copyTree(Path from, Path to) throws Exception {
    try (var s = Files.walk(from)) {
      for (Path p : s.toList()) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else {
          Files.copy(p, t);
        }
      }
    }
  }
}
