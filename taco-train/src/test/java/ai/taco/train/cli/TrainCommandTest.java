package ai.taco.train.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.taco.core.TacoConfig;
import ai.taco.core.TacoModel;
import ai.taco.core.io.HostTensor;
import ai.taco.core.io.SafeTensors;
import ai.taco.core.testing.Golden;
import ai.taco.eval.cli.TacoCli;
import ai.taco.train.Trainer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** `taco train` / `taco export` end to end on the tiny preset, and the refusals the issue asks for. */
class TrainCommandTest {

  record Run(int code, String err) {}

  static Run taco(String... args) {
    CommandLine cl = TacoCli.commandLine();
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new Run(code, err.toString());
  }

  static String[] trainArgs(Path out, String... extra) {
    List<String> a = new ArrayList<>(List.of("train", "--dataset", Golden.data("train-sample/bsds500/train").toString(),
        "--out", out.toString(), "--preset", "tiny", "--batch-size", "2", "--patch-size", "64", "64",
        "--no-progress", "--seed", "5"));
    a.addAll(List.of(extra));
    return a.toArray(String[]::new);
  }

  @Test
  void perceptualCoefficientsWithoutWeightsAreErrors(@TempDir Path dir) {
    Run r = taco(trainArgs(dir, "--lpips-coefficient", "3.5", "--max-steps", "1"));
    assertEquals(2, r.code());
    assertTrue(r.err().contains("--lpips-weights"), r.err());
    r = taco(trainArgs(dir, "--joint-image-text-loss-coefficient", "0.0025", "--max-steps", "1"));
    assertEquals(2, r.code());
    assertTrue(r.err().contains("--clip"), r.err());
    assertTrue(!Files.exists(dir.resolve(Trainer.RECENT)));
  }

  @Test
  void trainResumeAndExport(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("run");
    Run r = taco(trainArgs(out, "--max-steps", "2"));
    assertEquals(0, r.code(), r.err());
    Path ck = out.resolve(Trainer.RECENT);
    assertTrue(Files.isRegularFile(ck));
    assertEquals(3, Files.readAllLines(out.resolve("steps.csv")).size()); // header + 2 steps

    // The same --out again without --checkpoint or --force: refused, nothing overwritten.
    long before = Files.getLastModifiedTime(ck).toMillis();
    r = taco(trainArgs(out, "--max-steps", "2"));
    assertEquals(2, r.code());
    assertTrue(r.err().contains("--force"), r.err());
    assertEquals(before, Files.getLastModifiedTime(ck).toMillis());

    r = taco(trainArgs(out, "--max-steps", "3", "--checkpoint", ck.toString()));
    assertEquals(0, r.code(), r.err());
    List<String> rows = Files.readAllLines(out.resolve("steps.csv"));
    assertEquals(4, rows.size());
    assertTrue(rows.get(3).startsWith("3,"), rows.get(3));

    Path weights = dir.resolve("w.safetensors");
    r = taco("export", "--checkpoint", ck.toString(), "--out", weights.toString());
    assertEquals(0, r.code(), r.err());
    r = taco("export", "--checkpoint", ck.toString(), "--out", weights.toString());
    assertEquals(2, r.code(), "export must not overwrite without --force");
    Map<String, HostTensor> exported = SafeTensors.read(weights).tensors();
    try (NDManager m = NDManager.newBaseManager()) {
      // Official key names and order: exactly the state dict of a tiny TacoModel.
      assertEquals(new ArrayList<>(TacoModel.create(TacoConfig.TINY, m, 0).stateDict().keySet()),
          new ArrayList<>(exported.keySet()));
      TacoModel loaded = TacoModel.load(exported, TacoConfig.TINY, m); // strict key/shape check
      assertEquals(exported.get("g_a.analysis_transform.0.weight").toFloatArray()[0],
          loaded.parameters().get("g_a.analysis_transform.0.weight").toFloatArray()[0]);
    }
  }
}
