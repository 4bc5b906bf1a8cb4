package ai.taco.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code taco fetch} against a loopback HTTP server (127.0.0.1, ephemeral port): nothing here touches the internet.
 * The expected hashes are computed by the test from the bytes it serves.
 */
class FetchCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Stall timeout of the stall tests: short, so that a stalled transfer is refused quickly. */
  private static final String SHORT_STALL = "1";

  /**
   * Stall timeout of the other tests: long enough that a loaded machine (several builds sharing two cores) never
   * turns a slow loopback answer into a spurious stall.
   */
  private static final String LONG_STALL = "30";

  /** Guard against a hang (not a timing assertion): far above the 1 s stall timeout. */
  private static final Duration HANG_GUARD = Duration.ofSeconds(60);

  @TempDir Path tmp;

  private HttpServer server;
  private String base;
  private final Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();
  private final CountDownLatch release = new CountDownLatch(1);
  private final byte[] payload = new byte[300_000];
  private String payloadSha;

  @BeforeEach
  void start() throws Exception {
    new Random(42).nextBytes(payload);
    payloadSha = sha256(payload);
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(Executors.newCachedThreadPool());
    server.createContext("/", this::handle);
    server.start();
    base = "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @AfterEach
  void stop() {
    release.countDown();
    server.stop(0);
    ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
  }

  private void handle(HttpExchange x) throws IOException {
    String path = x.getRequestURI().getPath();
    hits.computeIfAbsent(path, k -> new AtomicInteger()).incrementAndGet();
    try (x) {
      if (path.endsWith("/file.bin")) {
        x.sendResponseHeaders(200, payload.length);
        try (OutputStream o = x.getResponseBody()) {
          for (int off = 0; off < payload.length; off += 50_000) {
            o.write(payload, off, Math.min(50_000, payload.length - off));
          }
        }
      } else if (path.equals("/redirect")) {
        x.getResponseHeaders().add("Location", base + "/r/file.bin");
        x.sendResponseHeaders(302, -1);
      } else if (path.equals("/stall-body")) {
        x.sendResponseHeaders(200, payload.length);
        OutputStream o = x.getResponseBody();
        o.write(payload, 0, 1000);
        o.flush();
        await();
      } else if (path.equals("/stall-headers")) {
        await();
      } else if (path.equals("/slow")) {
        // Steady but slow: 12 chunks, one every 350 ms.
        x.sendResponseHeaders(200, payload.length);
        try (OutputStream o = x.getResponseBody()) {
          for (int off = 0; off < payload.length; off += 25_000) {
            o.write(payload, off, Math.min(25_000, payload.length - off));
            o.flush();
            sleep(350);
          }
        }
      } else {
        x.sendResponseHeaders(404, -1);
      }
    }
  }

  /**
   * A one-shot loopback server that announces the whole payload, sends half of it and closes the connection (the
   * JDK's HttpServer keeps a connection open after a short body, so this one speaks HTTP/1.1 itself).
   */
  private String truncatingServer() throws IOException {
    java.net.ServerSocket ss = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    Thread t = new Thread(() -> {
      try (ss; java.net.Socket s = ss.accept()) {
        java.io.BufferedReader in = new java.io.BufferedReader(
            new java.io.InputStreamReader(s.getInputStream(), java.nio.charset.StandardCharsets.ISO_8859_1));
        for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
          // request line and headers: ignored
        }
        OutputStream o = s.getOutputStream();
        o.write(("HTTP/1.1 200 OK\r\nContent-Length: " + payload.length + "\r\n\r\n")
            .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        o.write(payload, 0, payload.length / 2);
        o.flush();
      } catch (IOException e) {
        // the test then fails on its own assertions
      }
    });
    t.setDaemon(true);
    t.start();
    return "http://127.0.0.1:" + ss.getLocalPort() + "/truncated";
  }

  /** The one error line of a failed run (after the "fetch: ..." progress lines). */
  private static String error(CliTesting.Run r) {
    List<String> errors = r.err().lines().filter(l -> l.startsWith("taco: ")).toList();
    assertEquals(1, errors.size(), "one error line: " + r.err());
    return errors.get(0);
  }

  private void await() {
    try {
      release.await(HANG_GUARD.toSeconds(), TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  /** A catalog with one entry {@code name} -> {@code file} at {@code url}; null fields are written as null. */
  private Path catalog(String name, String file, String url, Long bytes, String sha) throws Exception {
    ObjectNode doc = JSON.createObjectNode();
    doc.put("format", 1);
    ArrayNode entries = doc.putArray("entries");
    ObjectNode e = entries.addObject();
    e.put("name", name);
    e.put("group", "test");
    e.put("file", file);
    e.put("url", url);
    if (bytes == null) {
      e.putNull("bytes");
    } else {
      e.put("bytes", bytes);
    }
    if (sha == null) {
      e.putNull("sha256");
    } else {
      e.put("sha256", sha);
    }
    e.put("for", "test");
    Path c = tmp.resolve("catalog-" + name + ".json");
    JSON.writeValue(c.toFile(), doc);
    return c;
  }

  private CliTesting.Run fetch(Path catalog, String... more) {
    return fetchWithStall(LONG_STALL, catalog, more);
  }

  private CliTesting.Run fetchWithStall(String stall, Path catalog, String... more) {
    List<String> args = new ArrayList<>(List.of("fetch", "--catalog", catalog.toString(),
        "--out", tmp.resolve("models").toString(), "--stall-timeout", stall, "--connect-timeout", "5"));
    args.addAll(List.of(more));
    return assertTimeoutPreemptively(HANG_GUARD, () -> CliTesting.taco(args.toArray(String[]::new)));
  }

  /**
   * Every file under the output folder (temporary files included): what a failure must leave empty. A failure also
   * removes the folders the download created (here the output folder itself).
   */
  private List<String> left() throws IOException {
    Path models = tmp.resolve("models");
    if (!Files.exists(models)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(models)) {
      return s.filter(Files::isRegularFile).map(p -> models.relativize(p).toString()).sorted().toList();
    }
  }

  private int hits(String path) {
    AtomicInteger n = hits.get(path);
    return n == null ? 0 : n.get();
  }

  @Test
  void rightFileLandsWithTheRightBytes() throws Exception {
    Path c = catalog("w", "sub/w.bin", base + "/a/file.bin", (long) payload.length, payloadSha);
    CliTesting.Run r = fetch(c, "w");
    assertEquals(0, r.exit(), r.err());
    assertArrayEquals(payload, Files.readAllBytes(tmp.resolve("models/sub/w.bin")));
    assertEquals(List.of("sub/w.bin"), left(), "no temporary file left beside it");
    JsonNode row = r.json().get(0);
    assertEquals("downloaded", row.get("status").asText());
    assertEquals(payloadSha, row.get("sha256").asText());
    assertEquals(payload.length, row.get("bytes").asLong());
    assertEquals("sha256 (catalog)", row.get("verified").asText());
  }

  @Test
  void followsRedirects() throws Exception {
    Path c = catalog("w", "w.bin", base + "/redirect", null, payloadSha);
    CliTesting.Run r = fetch(c, "w");
    assertEquals(0, r.exit(), r.err());
    assertEquals(1, hits("/redirect"));
    assertEquals(1, hits("/r/file.bin"));
    assertArrayEquals(payload, Files.readAllBytes(tmp.resolve("models/w.bin")));
  }

  @Test
  void wrongHashIsRefusedNamingBothAndNothingIsLeft() throws Exception {
    String other = sha256(new byte[] {1, 2, 3});
    Path c = catalog("w", "w.bin", base + "/a/file.bin", null, other);
    CliTesting.Run r = fetch(c, "w");
    assertEquals(2, r.exit());
    String line = error(r);
    assertTrue(line.startsWith("taco: w: sha256 mismatch"), r.err());
    assertTrue(line.contains(payloadSha) && line.contains(other), r.err());
    assertFalse(Files.exists(tmp.resolve("models")), "nothing left, not even the folder created for it");
  }

  @Test
  void wrongExpectedHashOfAnUnpinnedFileIsRefused() throws Exception {
    String other = sha256(new byte[] {4, 5, 6});
    Path c = catalog("w", "w.bin", base + "/a/file.bin", null, null);
    CliTesting.Run r = fetch(c, "w", "--expect-sha256", other.toUpperCase());
    assertEquals(2, r.exit());
    assertTrue(r.err().contains(payloadSha) && r.err().contains(other), r.err());
    assertEquals(List.of(), left());
  }

  @Test
  void wrongSizeIsRefused() throws Exception {
    Path c = catalog("w", "w.bin", base + "/a/file.bin", (long) payload.length + 1, payloadSha);
    CliTesting.Run r = fetch(c, "w");
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("announces " + payload.length + " bytes, expected " + (payload.length + 1)), r.err());
    assertEquals(List.of(), left());
  }

  @Test
  void truncatedBodyIsRefused() throws Exception {
    Path c = catalog("w", "w.bin", truncatingServer(), null, payloadSha);
    CliTesting.Run r = fetch(c, "w");
    assertEquals(2, r.exit());
    assertTrue(error(r).startsWith("taco: w: download broke off after 150000 bytes of 300000 (truncated)"), r.err());
    assertEquals(List.of(), left());
  }

  @Test
  void httpErrorIsRefused() throws Exception {
    Path c = catalog("w", "w.bin", base + "/nothing-here", null, payloadSha);
    CliTesting.Run r = fetch(c, "w");
    assertEquals(2, r.exit());
    assertTrue(error(r).startsWith("taco: w: HTTP 404 from " + base + "/nothing-here"), r.err());
    assertEquals(List.of(), left());
  }

  @Test
  void stalledBodyIsRefusedAfterTheStallTimeout() throws Exception {
    Path c = catalog("w", "sub/dir/w.bin", base + "/stall-body", null, payloadSha);
    CliTesting.Run r = fetchWithStall(SHORT_STALL, c, "w");
    assertEquals(2, r.exit());
    assertTrue(error(r).startsWith("taco: w: stalled: no data for 1.0 s after 1000 bytes"), r.err());
    assertFalse(Files.exists(tmp.resolve("models")), "the folders created for the download are removed");
  }

  @Test
  void missingHeadersAreRefusedAfterTheStallTimeout() throws Exception {
    Path c = catalog("w", "w.bin", base + "/stall-headers", null, payloadSha);
    CliTesting.Run r = fetchWithStall(SHORT_STALL, c, "w");
    assertEquals(2, r.exit());
    assertTrue(error(r).startsWith("taco: w: no response from " + base + "/stall-headers within 1.0 s"), r.err());
    assertEquals(List.of(), left());
  }

  @Test
  void slowButSteadyTransferIsNotAStall() throws Exception {
    Path c = catalog("w", "w.bin", base + "/slow", null, payloadSha);
    // The whole transfer (~4 s) takes longer than the stall timeout; no gap between chunks (0.35 s) comes near it.
    CliTesting.Run r = fetchWithStall("2.5", c, "w");
    assertEquals(0, r.exit(), r.err());
    assertArrayEquals(payload, Files.readAllBytes(tmp.resolve("models/w.bin")));
  }

  @Test
  void existingFileIsNotOverwrittenWithoutForce() throws Exception {
    Path target = Files.createDirectories(tmp.resolve("models")).resolve("w.bin");
    byte[] mine = {9, 9, 9};
    Files.write(target, mine);
    Path c = catalog("w", "w.bin", base + "/a/file.bin", null, payloadSha);
    CliTesting.Run r = fetch(c, "w");
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("already exists with sha256 " + sha256(mine)) && r.err().contains("--force"), r.err());
    assertArrayEquals(mine, Files.readAllBytes(target));
    assertEquals(0, hits("/a/file.bin"), "refused before any download");

    CliTesting.Run forced = fetch(c, "w", "--force");
    assertEquals(0, forced.exit(), forced.err());
    assertArrayEquals(payload, Files.readAllBytes(target));
    assertEquals(List.of("w.bin"), left());

    CliTesting.Run again = fetch(c, "w");
    assertEquals(0, again.exit(), again.err());
    assertEquals("present", again.json().get(0).get("status").asText());
    assertEquals(1, hits("/a/file.bin"), "a file with the right hash is not downloaded again");
  }

  @Test
  void failedForcedDownloadKeepsTheExistingFile() throws Exception {
    Path target = Files.createDirectories(tmp.resolve("models")).resolve("w.bin");
    byte[] mine = {7, 7, 7};
    Files.write(target, mine);
    Path c = catalog("w", "w.bin", base + "/a/file.bin", null, sha256(new byte[] {1}));
    CliTesting.Run r = fetch(c, "w", "--force");
    assertEquals(2, r.exit());
    assertTrue(error(r).startsWith("taco: w: sha256 mismatch: got " + payloadSha), r.err());
    assertArrayEquals(mine, Files.readAllBytes(target), "replaced only by a verified download");
    assertEquals(List.of("w.bin"), left());
  }

  @Test
  void unpinnedFileNeedsAHashOrPrintSha256() throws Exception {
    Path c = catalog("w", "w.bin", base + "/a/file.bin", null, null);
    CliTesting.Run r = fetch(c, "w");
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("w: no SHA-256 is pinned") && r.err().contains("--expect-sha256")
        && r.err().contains("--print-sha256"), r.err());
    assertEquals(0, hits("/a/file.bin"), "refused before any download");

    CliTesting.Run printed = fetch(c, "w", "--print-sha256");
    assertEquals(0, printed.exit(), printed.err());
    assertEquals(payloadSha, printed.json().get(0).get("sha256").asText());
    assertEquals("none", printed.json().get(0).get("verified").asText());
    assertTrue(printed.err().contains("NOT verified"), printed.err());
    assertArrayEquals(payload, Files.readAllBytes(tmp.resolve("models/w.bin")));

    Files.delete(tmp.resolve("models/w.bin"));
    CliTesting.Run expected = fetch(c, "w", "--expect-sha256", "w=" + payloadSha);
    assertEquals(0, expected.exit(), expected.err());
    assertEquals("sha256 (--expect-sha256)", expected.json().get(0).get("verified").asText());
  }

  @Test
  void mirrorReplacesSchemeAndHostAndPrefixesThePath() throws Exception {
    Path c = catalog("w", "w.bin", "https://weights.invalid/org/model/file.bin?download=1", null, payloadSha);
    CliTesting.Run r = fetch(c, "w", "--mirror", base + "/mirror/");
    assertEquals(0, r.exit(), r.err());
    assertEquals(1, hits("/mirror/org/model/file.bin"));
    assertEquals(base + "/mirror/org/model/file.bin?download=1", r.json().get(0).get("url").asText());

    Files.delete(tmp.resolve("models/w.bin"));
    CliTesting.Run keyed = fetch(c, "w", "--mirror", "weights.invalid=" + base + "/m2");
    assertEquals(0, keyed.exit(), keyed.err());
    assertEquals(1, hits("/m2/org/model/file.bin"));
  }

  @Test
  void builtInCatalogListsEveryWeightWithItsSource() throws Exception {
    CliTesting.Run r = CliTesting.taco("fetch", "--list", "--out", tmp.resolve("m").toString());
    assertEquals(0, r.exit(), r.err());
    JsonNode list = r.json();
    List<String> groups = new ArrayList<>();
    for (JsonNode e : list) {
      String name = e.get("name").asText();
      if (!groups.contains(e.get("group").asText())) {
        groups.add(e.get("group").asText());
      }
      assertTrue(e.get("url").asText().startsWith("https://"), name);
      assertFalse(e.get("for").asText().isBlank(), name);
      boolean pinned = !e.get("sha256").isNull() || (e.has("sha256_prefix") && !e.get("sha256_prefix").isNull());
      if (!pinned) {
        assertFalse(e.get("note").asText().isBlank(), name + " says why it is not pinned");
      }
      if (e.has("sha256_prefix") && !e.get("sha256_prefix").isNull()) {
        // torch hub convention: the file name carries the prefix of its SHA-256.
        assertTrue(e.get("url").asText().endsWith("-" + e.get("sha256_prefix").asText() + ".pth"), name);
      }
    }
    assertEquals(List.of("clip-vit-base-patch32", "clip-vit-large-patch14-336", "lpips", "fid-inception", "pieapp",
        "taco-checkpoints"), groups);
    JsonNode heads = find(list, "lpips/alex.pth");
    assertNotNull(heads);
    // The lpips v0.1 alex.pth blob of github.com/richzhang/PerceptualSimilarity at the commit its URL names.
    assertEquals("df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0", heads.get("sha256").asText());
    assertEquals(6009, heads.get("bytes").asLong());
    assertEquals(tmp.resolve("m/lpips/alex.pth").toString(), heads.get("path").asText());
    // The files the CLIP loader reads (config.json, model.safetensors, tokenizer.json).
    assertNotNull(find(list, "clip-vit-base-patch32/config.json"));
    assertNotNull(find(list, "clip-vit-base-patch32/model.safetensors"));
    assertNotNull(find(list, "clip-vit-base-patch32/tokenizer.json"));
  }

  @Test
  void builtInUnpinnedEntriesAreRefusedBeforeAnyNetwork() {
    CliTesting.Run r = CliTesting.taco("fetch", "clip-vit-base-patch32", "--out", tmp.resolve("m").toString());
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("clip-vit-base-patch32/config.json, clip-vit-base-patch32/model.safetensors,"
        + " clip-vit-base-patch32/tokenizer.json: no SHA-256 is pinned"), r.err());
    CliTesting.Run manual = CliTesting.taco("fetch", "taco-checkpoints", "--out", tmp.resolve("m").toString());
    assertEquals(2, manual.exit());
    assertTrue(manual.err().contains("Google Drive"), manual.err());
    assertFalse(Files.exists(tmp.resolve("m")));
  }

  private static JsonNode find(JsonNode list, String name) {
    for (JsonNode e : list) {
      if (e.get("name").asText().equals(name)) {
        return e;
      }
    }
    return null;
  }
}
