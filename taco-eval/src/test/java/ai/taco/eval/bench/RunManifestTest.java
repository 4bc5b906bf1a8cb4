package ai.taco.eval.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The run manifest: round trip, every difference named, fingerprints. */
class RunManifestTest {

  static Map<String, Object> config(String sha, String mode, boolean withFid) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("codecs", Map.of("TACO a.pth.tar", Map.of("weights_sha256", sha, "scale_table", "torch1")));
    c.put("text", Map.of("caption_mode", mode));
    Map<String, Object> metrics = new LinkedHashMap<>();
    metrics.put("on", "float");
    if (withFid) {
      metrics.put("fid", Map.of("inception_sha256", "f1d"));
    }
    c.put("metrics", metrics);
    return c;
  }

  @Test
  void readBackEqualsAndEveryDifferenceIsNamed(@TempDir Path tmp) {
    Path f = tmp.resolve(RunManifest.FILE);
    RunManifest.of(config("aaa", "dataset", true)).write(f);
    RunManifest recorded = RunManifest.read(f);
    RunManifest.of(config("aaa", "dataset", true)).requireSame(recorded, f);

    RunManifest other = RunManifest.of(config("bbb", "empty", false));
    assertEquals(List.of(
            "codecs.\"TACO a.pth.tar\".weights_sha256: run.json has 'aaa', this run has 'bbb'",
            "text.caption_mode: run.json has 'dataset', this run has 'empty'",
            "metrics.fid: run.json has {\"inception_sha256\":\"f1d\"}, this run has none"),
        other.differences(recorded));
    ManifestMismatchException e =
        assertThrows(ManifestMismatchException.class, () -> other.requireSame(recorded, f));
    assertEquals(3, e.differences().size());
    assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
  }

  @Test
  void notAManifestIsRefused(@TempDir Path tmp) throws Exception {
    Path f = Files.writeString(tmp.resolve("run.json"), "{\"format\": \"taco-eval-run/0\", \"config\": {}}");
    assertThrows(BenchmarkException.class, () -> RunManifest.read(f));
    Files.writeString(f, "[1, 2");
    assertThrows(BenchmarkException.class, () -> RunManifest.read(f));
  }

  @Test
  void sha256OfAFileIsTheStandardDigestAndFoldersHashNamesAndContents(@TempDir Path tmp) throws Exception {
    Path abc = Files.writeString(tmp.resolve("abc"), "abc", StandardCharsets.US_ASCII);
    // FIPS 180-2, appendix B.1.
    assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", RunManifest.sha256(abc));
    Path d = Files.createDirectories(tmp.resolve("d"));
    Files.writeString(d.resolve("x"), "1");
    String h = RunManifest.sha256(d);
    Files.writeString(d.resolve("x"), "2");
    String changed = RunManifest.sha256(d);
    Files.move(d.resolve("x"), d.resolve("y"));
    String renamed = RunManifest.sha256(d);
    assertTrue(!h.equals(changed) && !changed.equals(renamed), h + " " + changed + " " + renamed);
  }

  @Test
  void folderDatasetListingChangesWithACaptionOrAFile(@TempDir Path tmp) throws Exception {
    EvalDataset ds = EvalRunnerTest.tiny(tmp.resolve("d"));
    Map<String, Object> a = RunManifest.folderDataset(ds);
    assertEquals(3, a.get("images"));
    List<EvalDataset.Item> items = new java.util.ArrayList<>(ds.items());
    items.set(1, new EvalDataset.Item(items.get(1).name(), items.get(1).path(), "another caption"));
    assertTrue(!a.get("listing_sha256").equals(RunManifest.folderDataset(new EvalDataset("d", items))
        .get("listing_sha256")));
  }
}
