package ai.taco.cli.fetch;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The public weight files {@code taco fetch} knows: where each comes from, where it goes under the models folder, its
 * size and SHA-256 where they can be pinned, and what reads it. The built-in list is the resource {@link #RESOURCE}
 * (docs/weights.md); {@code --catalog FILE} replaces it with a file in the same format.
 */
final class WeightsCatalog {

  static final String RESOURCE = "weights-catalog.json";

  /** Version of the JSON layout; a file of another version is refused rather than half understood. */
  static final int FORMAT = 1;

  /** Shortest hash prefix accepted as a pin: torch hub file names carry 8 hex digits. */
  static final int MIN_PREFIX_HEX = 8;

  /** A catalog file is a few kilobytes; anything far larger is not one (read fully, so bounded first). */
  static final long MAX_CATALOG_BYTES = 1 << 20;

  private static final Pattern HEX = Pattern.compile("[0-9a-f]+");

  /** One downloadable file (or, if {@code manual}, a source that only a browser can use). */
  @JsonInclude(JsonInclude.Include.ALWAYS)
  record Entry(
      @JsonProperty("name") String name,
      @JsonProperty("group") String group,
      @JsonProperty("file") String file,
      @JsonProperty("url") String url,
      @JsonProperty("bytes") Long bytes,
      @JsonProperty("sha256") String sha256,
      @JsonProperty("sha256_prefix") String sha256Prefix,
      @JsonProperty("manual") Boolean manualOnly,
      @JsonProperty("for") String purpose,
      @JsonProperty("use") String use,
      @JsonProperty("note") String note) {

    /** True for a source that only a browser can use (the command explains instead of downloading). */
    boolean manual() {
      return Boolean.TRUE.equals(manualOnly);
    }

    /** True when a download can be checked without a hash from the user (full hash or torch hub prefix). */
    boolean pinned() {
      return sha256 != null || sha256Prefix != null;
    }
  }

  record Document(@JsonProperty("format") Integer format, @JsonProperty("entries") List<Entry> entries) {}

  private final List<Entry> entries;

  private WeightsCatalog(List<Entry> entries) {
    this.entries = List.copyOf(entries);
  }

  List<Entry> entries() {
    return entries;
  }

  static WeightsCatalog builtIn() {
    try (InputStream in = WeightsCatalog.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new FetchException("the built-in weights catalog " + RESOURCE + " is missing from the class path");
      }
      return parse(in.readAllBytes(), RESOURCE);
    } catch (IOException e) {
      throw new FetchException("cannot read the built-in weights catalog: " + e.getMessage());
    }
  }

  static WeightsCatalog read(Path file) {
    try {
      if (!Files.isRegularFile(file)) {
        throw new FetchException("catalog not found (or not a regular file): " + file);
      }
      if (Files.size(file) > MAX_CATALOG_BYTES) {
        throw new FetchException(file + ": not a weights catalog (larger than " + MAX_CATALOG_BYTES + " bytes)");
      }
      return parse(Files.readAllBytes(file), file.toString());
    } catch (IOException e) {
      throw new FetchException(file + ": cannot read (" + e.getMessage() + ")");
    }
  }

  static WeightsCatalog parse(byte[] json, String source) {
    Document doc;
    try {
      doc = new ObjectMapper().readValue(json, Document.class);
    } catch (IOException e) {
      String why = e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
      throw new FetchException(source + ": not a weights catalog (" + why + ")");
    }
    if (doc.format() == null || doc.format() != FORMAT) {
      throw new FetchException(source + ": catalog format " + doc.format() + ", this version reads format " + FORMAT);
    }
    if (doc.entries() == null || doc.entries().isEmpty()) {
      throw new FetchException(source + ": the catalog lists no entries");
    }
    List<String> problems = new ArrayList<>();
    Set<String> names = new HashSet<>();
    Set<String> files = new HashSet<>();
    for (Entry e : doc.entries()) {
      String n = e.name() == null ? "(entry without a name)" : e.name();
      if (e.name() == null || e.name().isBlank()) {
        problems.add(n);
        continue;
      }
      if (!names.add(e.name())) {
        problems.add(n + ": name listed twice");
      }
      if (e.group() == null || e.group().isBlank()) {
        problems.add(n + ": no group");
      }
      if (e.url() == null || !validUrl(e.url())) {
        problems.add(n + ": url must be an absolute http(s) URL");
      }
      if (e.manual()) {
        continue;
      }
      if (e.file() == null || !safeRelative(e.file())) {
        problems.add(n + ": file must be a relative path inside the output folder");
      } else if (!files.add(e.file())) {
        problems.add(n + ": file " + e.file() + " listed twice");
      }
      if (e.bytes() != null && e.bytes() < 0) {
        problems.add(n + ": negative bytes");
      }
      if (e.sha256() != null && !isSha256(e.sha256())) {
        problems.add(n + ": sha256 must be 64 lower-case hex digits");
      }
      if (e.sha256Prefix() != null
          && (e.sha256Prefix().length() < MIN_PREFIX_HEX || e.sha256Prefix().length() > 64
              || !HEX.matcher(e.sha256Prefix()).matches())) {
        problems.add(n + ": sha256_prefix must be " + MIN_PREFIX_HEX + " to 64 lower-case hex digits");
      }
      if (e.sha256() != null && e.sha256Prefix() != null && !e.sha256().startsWith(e.sha256Prefix())) {
        problems.add(n + ": sha256 does not start with sha256_prefix");
      }
    }
    if (!problems.isEmpty()) {
      throw new FetchException(source + ": invalid catalog: " + String.join("; ", problems));
    }
    return new WeightsCatalog(doc.entries());
  }

  /**
   * The entries named by {@code names}, each a file entry's name or a group, in catalog order without duplicates; ONE
   * error lists every unknown name.
   */
  List<Entry> select(List<String> names) {
    Set<Entry> out = new LinkedHashSet<>();
    List<String> unknown = new ArrayList<>();
    for (String n : names) {
      List<Entry> hit = entries.stream().filter(e -> e.name().equals(n) || e.group().equals(n)).toList();
      if (hit.isEmpty()) {
        unknown.add(n);
      }
      out.addAll(hit);
    }
    if (!unknown.isEmpty()) {
      Set<String> known = new LinkedHashSet<>();
      entries.forEach(e -> known.add(e.group()));
      throw new FetchException("unknown weights " + String.join(", ", unknown) + "; known groups: "
          + String.join(", ", known) + " (taco fetch --list shows every file)");
    }
    return entries.stream().filter(out::contains).toList();
  }

  static boolean isSha256(String s) {
    return s.length() == 64 && HEX.matcher(s).matches();
  }

  /** Lower-cases a user's hex string (sha256sum prints lower case, some pages upper case). */
  static String normalizeHex(String s) {
    return s.trim().toLowerCase(Locale.ROOT);
  }

  private static boolean validUrl(String url) {
    try {
      URI u = new URI(url);
      return u.isAbsolute() && u.getHost() != null
          && ("https".equalsIgnoreCase(u.getScheme()) || "http".equalsIgnoreCase(u.getScheme()));
    } catch (URISyntaxException e) {
      return false;
    }
  }

  private static boolean safeRelative(String file) {
    if (file.isBlank() || file.endsWith("/") || file.contains("\\")) {
      return false;
    }
    Path p = Path.of(file);
    if (p.isAbsolute()) {
      return false;
    }
    for (Path part : p) {
      String s = part.toString();
      if (s.equals("..") || s.equals(".") || s.isEmpty()) {
        return false;
      }
    }
    return true;
  }
}
