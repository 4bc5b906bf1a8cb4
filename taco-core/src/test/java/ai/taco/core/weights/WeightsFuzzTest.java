package ai.taco.core.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * 10,200 mutants of the three weights formats (3,400 each, fixed seed): every load either succeeds or throws a
 * TacoException. The longer run is the test-scope benchmark {@link WeightsFuzzBench} (docs/hardening.md). The timeout is a hang guard only.
 */
class WeightsFuzzTest {
  @TempDir Path tmp;

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void tenThousandMutantsGiveOnlyTypedErrors() throws IOException {
    Path dir = WeightsFuzz.scratchDirectory(tmp);
    try {
      WeightsFuzz.Report r = WeightsFuzz.run(10_200, 20261202L, dir);
      assertEquals(10_200, r.mutations());
      assertEquals(0, r.untyped(), () -> String.join("\n", r.untypedExamples()));
      for (WeightsFuzz.Counts c : r.counts().values()) {
        // The mutants reach both outcomes: some still load, most are refused (a fuzzer that only hit the magic
        // number check would test nothing).
        assertTrue(c.loaded() > 0 && c.typed() > c.mutations() / 4, c.toString());
      }
      assertTrue(r.typedMessages().size() > 30, "distinct refusals: " + r.typedMessages().size());
    } finally {
      Files.deleteIfExists(dir.resolve(WeightsFuzz.MUTANT_FILE));
      if (!dir.equals(tmp)) {
        Files.deleteIfExists(dir);
      }
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void benchReportCountsEveryMutantOnce() throws Exception {
    Map<String, Object> j = WeightsFuzzBench.report(300, 5);
    assertEquals(300L, j.get("mutations"));
    assertEquals(0L, j.get("untyped"));
    long sum = 0;
    for (Object f : ((Map<String, Object>) j.get("formats")).values()) {
      Map<String, Object> c = (Map<String, Object>) f;
      sum += (long) c.get("loaded") + (long) c.get("typed_errors");
    }
    assertEquals(300, sum);
  }
}
