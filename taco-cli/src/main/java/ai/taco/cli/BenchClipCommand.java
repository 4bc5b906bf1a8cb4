package ai.taco.cli;

import ai.taco.eval.bench.ClipTextBench;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code taco bench-clip}: CLIP text-encoding latency and batch throughput on CPU (JSON). */
@Command(
    name = "bench-clip",
    mixinStandardHelpOptions = true,
    description =
        "Times the CLIP text encoder at ViT-B/32 text size (width 512, 12 layers, 8 heads, vocab 49408, 38 tokens)"
            + " with random weights on CPU: latency of one caption and throughput of a batch, median of the timed runs"
            + " after warm-up, as JSON on stdout. Threads: TACO_THREADS (scripts/taco) or libtorch's default.")
public final class BenchClipCommand implements TacoCommand {
  @Option(names = "--batch", defaultValue = "64", description = "Captions per batch (default ${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--warmup", defaultValue = "3", description = "Untimed warm-up runs (default ${DEFAULT-VALUE}).")
  int warmup;

  @Option(names = "--runs", defaultValue = "15", description = "Timed runs; the median is reported (default ${DEFAULT-VALUE}).")
  int runs;

  @Option(names = "--seed", defaultValue = "4", description = "Seed of the random weights and captions (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--tokenizer",
      paramLabel = "FILE",
      description = "A CLIP tokenizer.json: time tokenization as well (default: synthetic token ids).")
  Path tokenizer;

  public BenchClipCommand() {}

  @Override
  public Integer call() throws Exception {
    if (batch < 1 || runs < 1 || warmup < 0) {
      throw new IllegalArgumentException("need --batch >= 1, --runs >= 1 and --warmup >= 0");
    }
    Map<String, Object> r = ClipTextBench.run(new ClipTextBench.Settings(batch, warmup, runs, seed, tokenizer));
    System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(r));
    return 0;
  }
}
