package ai.taco.cli;

import ai.taco.eval.Evaluation;
import ai.taco.eval.bench.EvalResults;
import ai.taco.eval.options.EvalOptions;
import java.io.PrintWriter;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code taco eval}: the paper's rate-distortion evaluation of TACO checkpoints and baselines in one run. */
@Command(
    name = "eval",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Compress every image of a dataset with every TACO checkpoint and baseline, decompress, and measure bpp (from the"
          + " bitstream file size over the original H x W), PSNR, MS-SSIM, LPIPS, PieAPP, and per set FID / KID /"
          + " CMMD.",
      "Writes run.json, per_image.csv (row by row), features/ (FID/KID/CMMD), summary.json, summary.md and"
          + " rd_<metric>.png into --out; prints summary.json to stdout. An interrupted run continues with --resume."
    })
public final class EvalCommand implements TacoCommand {

  @Spec CommandSpec spec;

  @Mixin EvalOptions options;

  /** Called after each result is recorded; tests throw from it to interrupt a run as a crash would. */
  Consumer<EvalResults.ImageResult> afterEachResult = r -> {};

  @Override
  public Integer call() {
    String summary = new Evaluation(options.plan())
        .withProgress(options.progress() ? ConsoleProgress::start : null)
        .afterEachResult(afterEachResult)
        .run();
    PrintWriter stdout = spec.commandLine().getOut();
    stdout.println(summary);
    stdout.flush();
    return 0;
  }
}
