package ai.taco.cli.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The mirror mapping and the catalog's checks, without any network. */
class FetchRulesTest {

  @Test
  void mirrorKeepsPathAndQueryUnderTheBase() {
    URI hf = URI.create("https://huggingface.co/openai/clip-vit-base-patch32/resolve/main/config.json");
    URI gh = URI.create("https://github.com/o/r/releases/download/t/f.pth?x=1");
    Mirrors all = Mirrors.parse(List.of("https://mirror.example.org/hub/"));
    assertEquals("https://mirror.example.org/hub/openai/clip-vit-base-patch32/resolve/main/config.json",
        all.apply(hf).toString());
    assertEquals("https://mirror.example.org/hub/o/r/releases/download/t/f.pth?x=1", all.apply(gh).toString());

    Mirrors keyed = Mirrors.parse(List.of("huggingface.co=http://10.0.0.1:8080"));
    assertEquals("http://10.0.0.1:8080/openai/clip-vit-base-patch32/resolve/main/config.json",
        keyed.apply(hf).toString());
    assertEquals(gh, keyed.apply(gh), "other hosts unchanged");
    assertEquals(hf, Mirrors.parse(List.of()).apply(hf));
  }

  @Test
  void badMirrorsAreRefused() {
    assertThrows(FetchException.class, () -> Mirrors.parse(List.of("ftp://x.org")));
    assertThrows(FetchException.class, () -> Mirrors.parse(List.of("https://x.org/?q=1")));
    assertThrows(FetchException.class, () -> Mirrors.parse(List.of("https://a.org", "https://b.org")));
    assertThrows(FetchException.class, () -> Mirrors.parse(List.of("h.org=https://a.org", "H.org=https://b.org")));
  }

  private static String entry(String file, String sha) {
    return "{\"format\":1,\"entries\":[{\"name\":\"n\",\"group\":\"g\",\"file\":\"" + file
        + "\",\"url\":\"https://x.org/f\",\"bytes\":null,\"sha256\":" + sha + ",\"for\":\"t\"}]}";
  }

  @Test
  void catalogRefusesPathsOutsideTheFolderAndMalformedHashes() {
    for (String bad : List.of("../x.pth", "/abs/x.pth", "a/../../x", "dir/")) {
      FetchException e = assertThrows(FetchException.class,
          () -> WeightsCatalog.parse(entry(bad, "null").getBytes(StandardCharsets.UTF_8), "c.json"));
      assertTrue(e.getMessage().contains("n: file must be a relative path"), e.getMessage());
    }
    FetchException e = assertThrows(FetchException.class,
        () -> WeightsCatalog.parse(entry("x", "\"ABC\"").getBytes(StandardCharsets.UTF_8), "c.json"));
    assertTrue(e.getMessage().contains("sha256 must be 64 lower-case hex digits"), e.getMessage());
    assertThrows(FetchException.class,
        () -> WeightsCatalog.parse("{\"format\":2,\"entries\":[]}".getBytes(StandardCharsets.UTF_8), "c.json"));
  }

  @Test
  void builtInCatalogIsValidAndSelectsByGroupOrName() {
    WeightsCatalog c = WeightsCatalog.builtIn();
    assertEquals(List.of("lpips/alexnet-owt-7be5be79.pth", "lpips/alex.pth"),
        c.select(List.of("lpips")).stream().map(WeightsCatalog.Entry::name).toList());
    assertEquals(1, c.select(List.of("lpips/alex.pth", "lpips/alex.pth")).size());
    FetchException e = assertThrows(FetchException.class, () -> c.select(List.of("nope", "lpips", "also-nope")));
    assertTrue(e.getMessage().startsWith("unknown weights nope, also-nope; known groups: clip-vit-base-patch32,"),
        e.getMessage());
  }
}
