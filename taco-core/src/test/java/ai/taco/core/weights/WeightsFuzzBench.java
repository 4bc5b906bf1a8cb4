package ai.taco.core.weights;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The long mutation-fuzzing run of the weights loaders (torch.save zip, legacy torch.save, safetensors), a test-scope
 * benchmark: each mutant of a small valid seed file must either load or fail with a typed TACO error. Prints
 * per-format counts (loaded, typed errors, untyped errors, slowest load), examples of untyped errors and the most
 * frequent refusals as JSON; exits 1 if any error was untyped. Run it (docs/hardening.md):
 *
 * <pre>
 * mvn -o -q -pl taco-core -am test-compile exec:java -Dexec.args="--mutations 100000 --seed 2026"
 * </pre>
 */
public final class WeightsFuzzBench {
  /** Mutants in all by default, split over the three formats. */
  static final long DEFAULT_MUTATIONS = 100_000;

  /** Random seed by default. */
  static final long DEFAULT_SEED = 2026;

  /** Most frequent refusals listed in the report. */
  private static final int TOP_REFUSALS = 15;

  private WeightsFuzzBench() {}

  public static void main(String[] args) throws Exception {
    long mutations = DEFAULT_MUTATIONS;
    long seed = DEFAULT_SEED;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--mutations" -> mutations = Long.parseLong(value(args, ++i));
        case "--seed" -> seed = Long.parseLong(value(args, ++i));
        default -> throw new IllegalArgumentException("unknown argument " + args[i] + " (--mutations N --seed S)");
      }
    }
    Map<String, Object> out = report(mutations, seed);
    System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out));
    System.exit((long) out.get("untyped") == 0 ? 0 : 1);
  }

  private static String value(String[] args, int i) {
    if (i >= args.length) {
      throw new IllegalArgumentException(args[i - 1] + " needs a value");
    }
    return args[i];
  }

  /** Runs {@code mutations} mutants from {@code seed} and returns the report printed by {@link #main}. */
  static Map<String, Object> report(long mutations, long seed) throws Exception {
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
      formats.put(f.name().toLowerCase(Locale.ROOT), m);
    });
    out.put("formats", formats);
    out.put("untyped_examples", r.untypedExamples());
    out.put("distinct_refusals", r.typedMessages().size());
    Map<String, Long> top = new LinkedHashMap<>();
    r.typedMessages().entrySet().stream().limit(TOP_REFUSALS).forEach(e -> top.put(e.getKey(), e.getValue()));
    out.put("most_frequent_refusals", top);
    return out;
  }
}
