package ai.taco.cli.fetch;

import ai.taco.core.files.ModelsFolder;
import ai.taco.cli.TacoCommand;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code taco fetch}: downloads the public weight files TACO-J reads, when the user asks for them (the product never
 * downloads anything by itself), checking each file's size and SHA-256 before it is put in place.
 */
@Command(
    name = "fetch",
    mixinStandardHelpOptions = true,
    description = {
      "Downloads public weights (CLIP, LPIPS, FID Inception, ...) into the models",
      "folder when asked; nothing else in TACO-J ever downloads. Each file goes to a",
      "temporary file beside its target, its size and SHA-256 are checked, and only",
      "then is it renamed into place: an HTTP error, a truncated body, a stall or a",
      "wrong hash leaves nothing behind. NAME is a group (clip-vit-base-patch32,",
      "clip-vit-large-patch14-336, lpips, fid-inception, pieapp) or one file of",
      "--list. A file whose SHA-256 the catalog cannot pin needs --expect-sha256",
      "(the hash shown by the source) or --print-sha256 (keep it unverified and",
      "print its hash to pin). Prints one JSON row per file. See docs/weights.md."
    })
public final class FetchCommand implements TacoCommand {

  @Parameters(paramLabel = "NAME", arity = "0..*", description = "Groups or file names of the catalog (--list).")
  List<String> names = new ArrayList<>();

  @Option(names = "--list", description = "Print the catalog as JSON (only the NAMEs given, if any) and download nothing.")
  boolean list;

  @Option(names = "--out", paramLabel = "DIR",
      description = "Models folder the files go to (each under its catalog path). Default: the installation's models/.")
  Path out;

  @Option(names = "--mirror", paramLabel = "[HOST=]URL",
      description = "Fetch from URL + the catalog URL's path instead of the catalog URL's scheme and host. HOST=URL"
          + " applies to that host only (repeatable); a bare URL to every other host.")
  List<String> mirrors = new ArrayList<>();

  @Option(names = "--expect-sha256", paramLabel = "[NAME=]HEX",
      description = "The SHA-256 the file must have (repeatable as NAME=HEX; a bare HEX when one file is fetched).")
  List<String> expectations = new ArrayList<>();

  @Option(names = "--print-sha256",
      description = "For files without a pinned SHA-256: download and keep them unverified and print their hash, to be"
          + " compared with the source and pinned with --expect-sha256 next time.")
  boolean printSha256;

  @Option(names = "--force", description = "Replace an existing file whose hash is not the expected one.")
  boolean force;

  @Option(names = "--catalog", paramLabel = "FILE",
      description = "A catalog JSON in the built-in one's format (taco fetch --list) instead of the built-in one.")
  Path catalogFile;

  @Option(names = "--connect-timeout", paramLabel = "SECONDS",
      description = "Time to connect to a server (default 30).")
  double connectTimeoutSeconds = Downloader.DEFAULT_CONNECT_TIMEOUT.toSeconds();

  @Option(names = "--stall-timeout", paramLabel = "SECONDS",
      description = "A download that receives no data (headers or body) for this long fails (default 60).")
  double stallTimeoutSeconds = Downloader.DEFAULT_STALL_TIMEOUT.toSeconds();

  @Spec CommandSpec spec;

  /** Picocli needs a public no-arg constructor. */
  public FetchCommand() {}

  @Override
  public Integer call() throws Exception {
    WeightsCatalog catalog = catalogFile != null ? WeightsCatalog.read(catalogFile) : WeightsCatalog.builtIn();
    Path root = out != null ? out : ModelsFolder.root();
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    PrintWriter stdout = spec.commandLine().getOut();
    if (list) {
      List<WeightsCatalog.Entry> shown = names.isEmpty() ? catalog.entries() : catalog.select(names);
      ArrayNode rows = json.createArrayNode();
      for (WeightsCatalog.Entry e : shown) {
        ObjectNode row = json.valueToTree(e);
        row.put("manual", e.manual());
        row.put("path", e.manual() ? root.resolve("taco").toString() : root.resolve(e.file()).toString());
        rows.add(row);
      }
      stdout.println(json.writeValueAsString(rows));
      stdout.flush();
      return 0;
    }
    if (names.isEmpty()) {
      throw new FetchException("name the weights to fetch, e.g. taco fetch clip-vit-base-patch32 lpips"
          + " (taco fetch --list shows the catalog)");
    }
    Duration connect = seconds(connectTimeoutSeconds, "--connect-timeout");
    Duration stall = seconds(stallTimeoutSeconds, "--stall-timeout");
    Mirrors mirror = Mirrors.parse(mirrors);
    List<WeightsCatalog.Entry> selected = catalog.select(names);
    Map<String, Downloader.Expected> plan = plan(selected);

    Downloader downloader = new Downloader(connect, stall, DownloadProgress::start);
    PrintWriter err = spec.commandLine().getErr();
    ArrayNode rows = json.createArrayNode();
    for (WeightsCatalog.Entry e : selected) {
      Path target = root.resolve(e.file());
      URI uri = mirror.apply(URI.create(e.url()));
      Downloader.Expected expected = plan.get(e.name());
      err.println("fetch: " + e.name() + " <- " + uri);
      err.flush();
      Downloader.Result r = downloader.fetch(e.name(), uri, target, expected, force);
      String verified = expected.sha256() != null ? (e.sha256() != null ? "sha256 (catalog)" : "sha256 (--expect-sha256)")
          : expected.sha256Prefix() != null ? "sha256 prefix " + expected.sha256Prefix() + " (catalog)" : "none";
      err.println("fetch: " + e.name() + ": " + (r.downloaded() ? "downloaded" : "already present") + ", " + r.bytes()
          + " bytes, sha256 " + r.sha256() + (verified.equals("none") ? " (NOT verified: compare it with the source,"
              + " then pin it with --expect-sha256)" : ", verified: " + verified) + " -> " + r.file());
      err.flush();
      ObjectNode row = rows.addObject();
      row.put("name", e.name());
      row.put("file", r.file().toString());
      row.put("status", r.downloaded() ? "downloaded" : "present");
      row.put("bytes", r.bytes());
      row.put("sha256", r.sha256());
      row.put("verified", verified);
      row.put("url", uri.toString());
      row.put("use", e.use());
    }
    stdout.println(json.writeValueAsString(rows));
    stdout.flush();
    return 0;
  }

  /**
   * What each selected file must be, checked before anything is downloaded: --expect-sha256 values parsed and matched
   * to entries, manual entries and files without any hash to check refused (ONE error listing all of them).
   */
  private Map<String, Downloader.Expected> plan(List<WeightsCatalog.Entry> selected) {
    List<String> manual = selected.stream().filter(WeightsCatalog.Entry::manual)
        .map(e -> e.name() + " (" + e.note() + ": " + e.url() + ")").toList();
    if (!manual.isEmpty()) {
      throw new FetchException("cannot be fetched by this command: " + String.join("; ", manual));
    }
    Map<String, String> given = new LinkedHashMap<>();
    for (String x : expectations) {
      int eq = x.lastIndexOf('=');
      String name = eq >= 0 ? x.substring(0, eq) : null;
      String hex = WeightsCatalog.normalizeHex(eq >= 0 ? x.substring(eq + 1) : x);
      if (!WeightsCatalog.isSha256(hex)) {
        throw new FetchException("--expect-sha256 " + x + ": expected [NAME=]HEX with 64 hex digits");
      }
      if (name == null) {
        if (selected.size() != 1) {
          throw new FetchException("--expect-sha256 " + x + ": " + selected.size() + " files are selected; give"
              + " NAME=HEX for each (names: taco fetch --list)");
        }
        name = selected.get(0).name();
      }
      final String n = name;
      if (selected.stream().noneMatch(e -> e.name().equals(n))) {
        throw new FetchException("--expect-sha256 " + x + ": " + n + " is not among the files fetched");
      }
      if (given.put(name, hex) != null) {
        throw new FetchException("--expect-sha256: " + name + " given twice");
      }
    }
    Map<String, Downloader.Expected> plan = new LinkedHashMap<>();
    List<String> unpinned = new ArrayList<>();
    for (WeightsCatalog.Entry e : selected) {
      String user = given.get(e.name());
      if (user != null && ((e.sha256() != null && !e.sha256().equals(user))
          || (e.sha256Prefix() != null && !user.startsWith(e.sha256Prefix())))) {
        throw new FetchException(e.name() + ": --expect-sha256 " + user + " contradicts the catalog, which pins "
            + (e.sha256() != null ? e.sha256() : e.sha256Prefix() + "..."));
      }
      if (user == null && !e.pinned() && !printSha256) {
        unpinned.add(e.name());
      }
      plan.put(e.name(), new Downloader.Expected(e.bytes(), user != null ? user : e.sha256(), e.sha256Prefix()));
    }
    if (!unpinned.isEmpty()) {
      throw new FetchException(String.join(", ", unpinned) + ": no SHA-256 is pinned for "
          + (unpinned.size() == 1 ? "this file" : "these files") + "; pass --expect-sha256 NAME=HEX with the hash"
          + " shown on the source page, or --print-sha256 to download unverified and print the hash (docs/weights.md)");
    }
    return plan;
  }

  private static Duration seconds(double s, String option) {
    if (!(s > 0) || s > Duration.ofDays(1).toSeconds()) {
      throw new FetchException(option + " " + s + ": expected a number of seconds > 0 (at most one day)");
    }
    return Duration.ofMillis(Math.max(1, Math.round(s * 1000)));
  }
}
