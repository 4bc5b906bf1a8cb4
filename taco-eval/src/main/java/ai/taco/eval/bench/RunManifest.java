package ai.taco.eval.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * What a {@code taco eval} run measures, written as {@value #FILE} into the results folder before the first image:
 * the dataset (its listing's hash), every codec operating point (TACO: the checkpoint's SHA-256, preset, scale table,
 * container), the text condition (caption mode, CLIP or embedding file hash) and the metrics (which, on what, their
 * weights' hashes). {@code --resume} compares the {@code config} of the recorded manifest with the new run's and
 * refuses to continue when anything differs ({@link ManifestMismatchException} lists every difference), so one
 * results folder never mixes two configurations.
 *
 * <p>Layout: {@code {"format": "taco-eval-run/1", "created": ISO-8601, "config": {section: {key: value | {…}}}}}.
 * Only {@code config} is compared.
 */
public final class RunManifest {

  public static final String FILE = "run.json";

  /** Version of this layout: a manifest of another format is not resumed. */
  static final String FORMAT = "taco-eval-run/1";

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  /** Longest value quoted in full in a difference message. */
  private static final int MAX_QUOTED = 100;

  private final ObjectNode root;

  private RunManifest(ObjectNode root) {
    this.root = root;
  }

  /**
   * @param config sections (e.g. "dataset", "codecs", "text", "metrics") of entries whose values are strings,
   *     numbers, booleans or nested maps of them
   */
  public static RunManifest of(Map<String, ?> config) {
    ObjectNode root = JSON.createObjectNode();
    root.put("format", FORMAT);
    root.put("created", Instant.now().toString());
    root.set("config", JSON.valueToTree(config));
    return new RunManifest(root);
  }

  public static RunManifest read(Path file) {
    JsonNode n;
    try {
      n = JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new BenchmarkException(file + " is not a readable run manifest: " + e.getMessage(), e);
    }
    if (n == null || !n.isObject() || !n.path("config").isObject()) {
      throw new BenchmarkException(file + " is not a taco eval run manifest (no \"config\" object)");
    }
    if (!FORMAT.equals(n.path("format").asText())) {
      throw new BenchmarkException(file + " has format '" + n.path("format").asText() + "', this version of taco eval"
          + " resumes only " + FORMAT);
    }
    return new RunManifest((ObjectNode) n);
  }

  /** Writes the manifest atomically (temporary file moved into place). */
  public void write(Path file) {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try {
      JSON.writeValue(tmp.toFile(), root);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new BenchmarkException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  /** The compared part. */
  public JsonNode config() {
    return root.get("config");
  }

  /** Every entry of {@code config} that differs, one line each, naming the entry and both values. */
  public List<String> differences(RunManifest recorded) {
    List<String> out = new ArrayList<>();
    diff("", recorded.config(), config(), out);
    return out;
  }

  /** Throws {@link ManifestMismatchException} unless this run's configuration equals the one recorded in {@code file}. */
  public void requireSame(RunManifest recorded, Path file) {
    List<String> d = differences(recorded);
    if (!d.isEmpty()) {
      throw new ManifestMismatchException("cannot resume: this run's configuration differs from " + file + ": "
          + String.join("; ", d) + " (use another --out, or --force to start that folder over)", d);
    }
  }

  private static void diff(String path, JsonNode was, JsonNode now, List<String> out) {
    if (was != null && now != null && was.isObject() && now.isObject()) {
      Set<String> keys = new LinkedHashSet<>();
      was.fieldNames().forEachRemaining(keys::add);
      now.fieldNames().forEachRemaining(keys::add);
      for (String k : keys) {
        diff(path.isEmpty() ? key(k) : path + "." + key(k), was.get(k), now.get(k), out);
      }
      return;
    }
    if (was == null) {
      out.add(path + ": not in " + FILE + ", this run has " + quote(now));
    } else if (now == null) {
      out.add(path + ": " + FILE + " has " + quote(was) + ", this run has none");
    } else if (!was.equals(now)) {
      out.add(path + ": " + FILE + " has " + quote(was) + ", this run has " + quote(now));
    }
  }

  private static String key(String k) {
    return k.matches("[A-Za-z0-9_]+") ? k : "\"" + k + "\"";
  }

  private static String quote(JsonNode v) {
    String s = v.isValueNode() ? "'" + v.asText() + "'" : v.toString();
    return s.length() <= MAX_QUOTED ? s : s.substring(0, MAX_QUOTED) + "…";
  }

  /**
   * Identity of a folder dataset: its name, image count and the SHA-256 of its listing (each image's file name, byte
   * size and caption, in evaluation order). Contents are not hashed: a listing is cheap to check at every start.
   */
  public static Map<String, Object> folderDataset(EvalDataset ds) {
    MessageDigest md = sha256();
    for (EvalDataset.Item i : ds.items()) {
      long size;
      try {
        size = Files.size(i.path());
      } catch (IOException e) {
        throw new BenchmarkException("cannot read " + i.path() + ": " + e.getMessage(), e);
      }
      md.update((i.name() + "\0" + size + "\0" + i.caption() + "\n").getBytes(StandardCharsets.UTF_8));
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", ds.name());
    m.put("images", ds.items().size());
    m.put("listing_sha256", HexFormat.of().formatHex(md.digest()));
    return m;
  }

  /**
   * Identity of an MS-COCO 30k run, known before the images are prepared (so a refused resume never touches the
   * prepared folder): the list's and the captions file's SHA-256, the preprocessing and the number of images.
   */
  public static Map<String, Object> cocoDataset(String name, Path list, Path captions, String preprocess, int limit) {
    int n = Coco30k.readList(list).size();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", name);
    m.put("images", limit > 0 ? Math.min(limit, n) : n);
    m.put("coco_list_sha256", sha256(list));
    m.put("captions_sha256", sha256(captions));
    m.put("preprocess", preprocess);
    return m;
  }

  /**
   * The operating points, keyed {@code "<codec> <setting>"}, each with its {@link ImageCodec#configuration()}.
   *
   * @throws BenchmarkException when two points have the same key (their rows could not be told apart)
   */
  public static Map<String, Object> codecs(List<? extends ImageCodec> codecs) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (ImageCodec c : codecs) {
      String k = c.name() + " " + c.setting();
      if (m.put(k, c.configuration()) != null) {
        throw new BenchmarkException("two operating points are both named '" + k + "' (e.g. checkpoints with the same"
            + " file name in different folders): rename one");
      }
    }
    return m;
  }

  /**
   * SHA-256 (hex) of a file's bytes, or of a folder: every regular file below it in sorted relative-path order, each
   * contributing its relative path, size and bytes.
   */
  public static String sha256(Path fileOrFolder) {
    MessageDigest md = sha256();
    try {
      if (Files.isDirectory(fileOrFolder)) {
        List<Path> files;
        try (Stream<Path> s = Files.walk(fileOrFolder)) {
          files = s.filter(Files::isRegularFile).sorted().toList();
        }
        for (Path f : files) {
          String rel = fileOrFolder.relativize(f).toString().replace('\\', '/');
          md.update((rel + "\0" + Files.size(f) + "\0").getBytes(StandardCharsets.UTF_8));
          digestFile(md, f);
        }
      } else {
        digestFile(md, fileOrFolder);
      }
    } catch (IOException e) {
      throw new BenchmarkException("cannot read " + fileOrFolder + " to fingerprint it: " + e.getMessage(), e);
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static void digestFile(MessageDigest md, Path f) throws IOException {
    byte[] buf = new byte[1 << 20];
    try (InputStream in = Files.newInputStream(f)) {
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK provides SHA-256", e);
    }
  }

  @Override
  public String toString() {
    return root.toString();
  }
}
