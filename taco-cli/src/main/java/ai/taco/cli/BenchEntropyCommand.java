package ai.taco.cli;

import ai.taco.eval.bench.EntropyBench;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code taco bench-entropy}: rANS encode/decode throughput and code length on TACO-like workloads (JSON). */
@Command(
    name = "bench-entropy",
    mixinStandardHelpOptions = true,
    description =
        "Benchmarks the pure-Java rANS coder (taco-entropy) on one thread: TACO's 64 Gaussian CDF tables, latent-like"
            + " symbols of varied scales and means, and a bypass-heavy case. Prints encode/decode million symbols per"
            + " second (median of the timed runs after warm-up) and the code length against the ideal -log2 p under"
            + " the quantized CDFs, as JSON on stdout.")
public final class BenchEntropyCommand implements TacoCommand {
  @Option(names = "--symbols", defaultValue = "500000", description = "Symbols per workload (default ${DEFAULT-VALUE}).")
  int symbols;

  @Option(names = "--warmup", defaultValue = "5", description = "Untimed warm-up runs (default ${DEFAULT-VALUE}).")
  int warmup;

  @Option(names = "--runs", defaultValue = "9", description = "Timed runs; the median is reported (default ${DEFAULT-VALUE}).")
  int runs;

  @Option(names = "--seed", defaultValue = "2024", description = "Random seed of the workloads (default ${DEFAULT-VALUE}).")
  long seed;

  /** Picocli needs a public no-arg constructor. */
  public BenchEntropyCommand() {}

  @Override
  public Integer call() throws Exception {
    if (symbols < 1 || runs < 5 || warmup < 1) {
      throw new IllegalArgumentException("need --symbols >= 1, --runs >= 5 and --warmup >= 1");
    }
    Map<String, Object> result = EntropyBench.run(new EntropyBench.Settings(symbols, warmup, runs, seed));
    System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(result));
    return 0;
  }
}
