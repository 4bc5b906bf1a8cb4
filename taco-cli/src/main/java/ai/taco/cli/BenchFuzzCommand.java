package ai.taco.cli;

import ai.taco.core.io.WeightsFuzz;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code taco bench-fuzz}: the long mutation-fuzzing run of the weights loaders (JSON counts). */
@Command(
    name = "bench-fuzz",
    mixinStandardHelpOptions = true,
    description =
        "Mutation-fuzzes the weights loaders (torch.save zip, legacy torch.save, safetensors): each mutant of a small"
            + " valid seed file is loaded, and must either load or fail with a typed TACO error. Prints per-format"
            + " counts (loaded, typed errors, untyped errors, slowest load), examples of untyped errors and the most"
            + " frequent refusals as JSON; exits 1 if any error was untyped. CI runs 10,200 mutants"
            + " (WeightsFuzzTest); see docs/hardening.md.")
public final class BenchFuzzCommand implements TacoCommand {
  @Option(names = "--mutations", defaultValue = "100000",
      description = "Mutants in all, split over the three formats (default ${DEFAULT-VALUE}).")
  long mutations;

  @Option(names = "--seed", defaultValue = "2026", description = "Random seed (default ${DEFAULT-VALUE}).")
  long seed;

  /** Picocli needs a public no-arg constructor (ServiceLoader too). */
  public BenchFuzzCommand() {}

  @Override
  public Integer call() throws Exception {
    if (mutations < 3) {
      throw new IllegalArgumentException("need --mutations >= 3");
    }
    Path fallback = Files.createTempDirectory("taco-fuzz");
    Path dir = WeightsFuzz.scratchDirectory(fallback);
    long t0 = System.nanoTime();
    WeightsFuzz.Report r;
    try {
      r = WeightsFuzz.run(mutations, seed, dir);
    } finally {
      Files.deleteIfExists(dir.resolve(WeightsFuzz.MUTANT_FILE));
      Files.deleteIfExists(dir);
      Files.deleteIfExists(fallback);
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("mutations", r.mutations());
    out.put("seed", seed);
    out.put("seconds", (System.nanoTime() - t0) / 1e9);
    out.put("untyped", r.untyped());
    Map<String, Object> formats = new LinkedHashMap<>();
    r.counts().forEach((f, c) -> {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("mutations", c.mutations());
      m.put("loaded", c.loaded());
      m.put("typed_errors", c.typed());
      m.put("untyped_errors", c.untyped());
      m.put("slowest_ms", c.slowestMillis());
      formats.put(f.name().toLowerCase(java.util.Locale.ROOT), m);
    });
    out.put("formats", formats);
    out.put("untyped_examples", r.untypedExamples());
    out.put("distinct_refusals", r.typedMessages().size());
    Map<String, Long> top = new LinkedHashMap<>();
    r.typedMessages().entrySet().stream().limit(15).forEach(e -> top.put(e.getKey(), e.getValue()));
    out.put("most_frequent_refusals", top);
    System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out));
    return r.untyped() == 0 ? 0 : 1;
  }
}
