package ai.taco.cli.fetch;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code --mirror [HOST=]BASE}: where to download from instead of a catalog URL's own server. The scheme, host and port
 * of the URL are replaced by {@code BASE}, and the URL's path (and query) is appended to BASE's path: with {@code
 * --mirror https://hf.example.org/hub}, {@code https://huggingface.co/openai/x/resolve/main/config.json} is fetched
 * from {@code https://hf.example.org/hub/openai/x/resolve/main/config.json}. A mirror given as {@code HOST=BASE}
 * applies only to URLs of that host (so one command can name a mirror per server); a bare {@code BASE} applies to all
 * other hosts. Sizes and hashes are checked as for the original URL.
 */
final class Mirrors {
  private final Map<String, String> byHost;
  private final String fallback;

  private Mirrors(Map<String, String> byHost, String fallback) {
    this.byHost = byHost;
    this.fallback = fallback;
  }

  static Mirrors parse(List<String> specs) {
    Map<String, String> byHost = new LinkedHashMap<>();
    String fallback = null;
    for (String spec : specs) {
      int eq = spec.indexOf('=');
      // A URL may itself contain '=' only in a query, which a base must not have; "HOST=" never contains "://".
      boolean keyed = eq > 0 && !spec.substring(0, eq).contains("/");
      String base = checkedBase(keyed ? spec.substring(eq + 1) : spec, spec);
      if (keyed) {
        String host = spec.substring(0, eq).toLowerCase(Locale.ROOT);
        if (byHost.put(host, base) != null) {
          throw new FetchException("--mirror: host " + host + " given twice");
        }
      } else {
        if (fallback != null) {
          throw new FetchException("--mirror: more than one mirror without HOST=; give HOST=URL for each server");
        }
        fallback = base;
      }
    }
    return new Mirrors(byHost, fallback);
  }

  /** The URL to fetch for a catalog URL. */
  URI apply(URI original) {
    String host = original.getHost() == null ? "" : original.getHost().toLowerCase(Locale.ROOT);
    String base = byHost.getOrDefault(host, fallback);
    if (base == null) {
      return original;
    }
    String path = original.getRawPath() == null ? "" : original.getRawPath();
    String query = original.getRawQuery() == null ? "" : "?" + original.getRawQuery();
    return URI.create(base + (path.startsWith("/") ? path : "/" + path) + query);
  }

  /** An absolute http(s) URL without query or fragment, with any trailing '/' removed. */
  private static String checkedBase(String base, String spec) {
    try {
      URI u = new URI(base);
      String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
      if (!(scheme.equals("https") || scheme.equals("http")) || u.getHost() == null
          || u.getRawQuery() != null || u.getRawFragment() != null) {
        throw new FetchException("--mirror " + spec + ": expected [HOST=]URL with URL an http(s) base such as"
            + " https://mirror.example.org/prefix (no query)");
      }
      String s = u.toString();
      while (s.endsWith("/")) {
        s = s.substring(0, s.length() - 1);
      }
      return s;
    } catch (URISyntaxException e) {
      throw new FetchException("--mirror " + spec + ": not a URL (" + e.getMessage() + ")");
    }
  }
}
