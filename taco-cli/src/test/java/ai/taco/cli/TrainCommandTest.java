package ai.taco.cli;

import static ai.taco.cli.CliTesting.taco;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.taco.core.DecodeOptions;
import ai.taco.core.EncodeOptions;
import ai.taco.core.TacoConfig;
import ai.taco.core.TacoModel;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.SafeTensors;
import ai.taco.core.testing.Golden;
import ai.taco.cli.CliTesting.Run;
import ai.taco.core.TacoCodec;
import ai.taco.core.bitstream.CodedImage;
import ai.taco.core.bitstream.CompressAiFile;
import ai.taco.core.image.Images;
import ai.taco.metrics.Lpips;
import ai.taco.metrics.MsSsim;
import ai.taco.metrics.Psnr;
import ai.taco.train.TrainCheckpoint;
import ai.taco.train.Trainer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** `taco train` / `taco export` end to end on the tiny preset, and its refusals of bad input. */
class TrainCommandTest {

  static String[] trainArgs(Path out, String... extra) {
    List<String> a = new ArrayList<>(List.of("train", "--dataset", Golden.data("train-sample/bsds500/train").toString(),
        "--out", out.toString(), "--preset", "tiny", "--batch-size", "2", "--patch-size", "64", "64",
        "--no-progress", "--seed", "5"));
    a.addAll(List.of(extra));
    return a.toArray(String[]::new);
  }

  @Test
  void progressOnARedirectedStderrHasNoEscapesOrCarriageReturns(@TempDir Path dir) {
    List<String> args = new ArrayList<>(List.of(trainArgs(dir, "--max-steps", "2")));
    args.remove("--no-progress");
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream saved = System.err;
    Run r;
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      r = taco(args.toArray(String[]::new));
    } finally {
      System.setErr(saved);
    }
    assertEquals(0, r.code(), r.err());
    String err = captured.toString(StandardCharsets.UTF_8) + r.err();
    assertFalse(err.contains("\u001b") || err.contains("\r"), "no bar redraws on a pipe: " + err);
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
    // The export is a codec: compress a Kodak crop to the official .bin bytes and decode them.
    try (TacoCodec codec = TacoCodec.builder().setWeights(weights).optConfig(TacoConfig.TINY).build()) {
      HostTensor x = crop(Images.read(Golden.data("kodak/kodim01.png")), 64, 128);
      HostTensor text = HostTensor.ofFloats(new float[38 * 512], 1, 38, 512);
      CodedImage bin = codec.compress(x, text, EncodeOptions.official());
      HostTensor decoded = codec.decompress(CompressAiFile.parse(bin.toBytes()));
      assertArrayEquals(new long[] {1, 3, 64, 128}, decoded.shape());
      assertTrue(bin.byteCount() > 0);
    }
  }

  /** The top-left h×w window of a [1,3,H,W] image. */
  static HostTensor crop(HostTensor img, int h, int w) {
    int fullH = (int) img.shape()[2];
    int fullW = (int) img.shape()[3];
    float[] src = img.toFloatArray();
    float[] out = new float[3 * h * w];
    for (int c = 0; c < 3; c++) {
      for (int y = 0; y < h; y++) {
        System.arraycopy(src, (c * fullH + y) * fullW, out, (c * h + y) * w, w);
      }
    }
    return HostTensor.ofFloats(out, 1, 3, h, w);
  }

  @Test
  void epochEndRunsTheCodecTestAndKeepsBestCheckpoints(@TempDir Path dir) throws Exception {
    // 4 training images, batch 2: an epoch is 2 steps. Test set: two 192x256 Kodak crops with their OFA captions.
    Path train = Files.createDirectories(dir.resolve("train"));
    for (String f : List.of("2092.jpg", "8049.jpg", "8143.jpg", "12003.jpg")) {
      Files.copy(Golden.data("train-sample/bsds500/train").resolve(f), train.resolve(f));
    }
    Path kodak = Files.createDirectories(dir.resolve("kodak"));
    for (String f : List.of("kodim01.png", "kodim02.png")) {
      Images.writePng(crop(Images.read(Golden.data("kodak").resolve(f)), 192, 256), kodak.resolve(f), false);
    }
    Path captions = dir.resolve("captions.json");
    Files.writeString(captions, "{\"kodim01.png\": \"a brick building\", \"kodim02.png\": \"a red door\"}");
    Path out = dir.resolve("run");
    Run r = taco("train", "--dataset", train.toString(), "--out", out.toString(), "--preset", "tiny",
        "--batch-size", "2", "--patch-size", "64", "64", "--no-progress", "--epochs", "1",
        "--lpips-weights", Golden.golden("lpips/lpips-alex-randtrunk.safetensors").toString(),
        "--eval-dir", kodak.toString(), "--eval-captions", captions.toString());
    assertEquals(0, r.code(), r.err());
    List<String> steps = Files.readAllLines(out.resolve("steps.csv"));
    assertEquals(3, steps.size());
    String[] row = steps.get(1).split(",", -1);
    assertTrue(!row[5].isEmpty() && Double.parseDouble(row[5]) > 0, "LPIPS term logged: " + steps.get(1));
    List<String> epochs = Files.readAllLines(out.resolve("epochs.csv"));
    assertEquals(2, epochs.size());
    String[] e = epochs.get(1).split(",", -1);
    double bpp = Double.parseDouble(e[3]);
    double psnr = Double.parseDouble(e[4]);
    double msSsim = Double.parseDouble(e[5]);
    double lpips = Double.parseDouble(e[6]);
    // The test's quality metrics are the library calls on the written bitstreams, decoded (unclamped, as the
    // official test_epoch measures) by a codec of the weights the test ran with (those of the epoch-end checkpoint).
    double sumPsnr = 0;
    double sumMsSsim = 0;
    double sumLpips = 0;
    TrainCheckpoint last = TrainCheckpoint.read(out.resolve(Trainer.RECENT));
    try (TacoCodec codec = TacoCodec.builder().setWeights(last.model()).optConfig(TacoConfig.TINY).build();
        Lpips net = Lpips.load(Golden.golden("lpips/lpips-alex-randtrunk.safetensors"));
        NDManager m = NDManager.newBaseManager()) {
      for (String f : List.of("kodim01.png", "kodim02.png")) {
        HostTensor x = Images.read(kodak.resolve(f));
        HostTensor xHat = codec.decompress(CompressAiFile.read(out.resolve("figures/1/" + f + ".bin")), DecodeOptions.unclamped());
        sumPsnr += Psnr.psnr(x.toFloatArray(), xHat.toFloatArray());
        sumMsSsim += MsSsim.msSsim(x.toFloatArray(), xHat.toFloatArray(), 1, 3, 192, 256);
        sumLpips += net.distance(x.toNDArray(m), xHat.toNDArray(m), Lpips.InputConvention.TACO_QUIRK)[0];
      }
    }
    // epochs.csv keeps 8 significant digits.
    assertEquals(sumPsnr / 2, psnr, 1e-6 * psnr, epochs.get(1));
    assertEquals(sumMsSsim / 2, msSsim, 1e-6 * Math.abs(msSsim), epochs.get(1));
    assertEquals(sumLpips / 2, lpips, 1e-6 * lpips, epochs.get(1));
    // bpp is the size of the written .bin files.
    long bytes = Files.size(out.resolve("figures/1/kodim01.png.bin")) + Files.size(out.resolve("figures/1/kodim02.png.bin"));
    assertEquals(bytes * 8.0 / (192 * 256) / 2, bpp, 1e-6 * bpp + 1e-7);
    for (String metric : List.of("psnr", "ms_ssim", "bpp", "lpips")) {
      assertTrue(Files.isRegularFile(out.resolve("checkpoint_best_" + metric + ".safetensors")), metric);
    }
    assertEquals(psnr, TrainCheckpoint.read(out.resolve(Trainer.RECENT)).best().psnr(), 1e-6 * psnr); // CSV keeps 8 digits
  }
}
