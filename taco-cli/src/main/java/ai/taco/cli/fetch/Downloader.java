package ai.taco.cli.fetch;

import ai.taco.core.files.AtomicFiles;
import ai.taco.core.files.OutputFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

/**
 * Downloads one file over HTTP(S) into place, or nothing: the body goes to a temporary file beside the target
 * ({@link AtomicFiles}), its size and SHA-256 are checked, and only then is it renamed into place. An HTTP error, a
 * body shorter than announced, a size or hash mismatch, or a connection that stops sending for the stall timeout
 * leaves neither the temporary file nor the target behind.
 */
final class Downloader {

  /** Time to open a connection (TCP + TLS) before giving up. */
  static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(30);

  /**
   * Longest wait for the response headers or for the next bytes of the body. A transfer that keeps moving may take as
   * long as it needs; one that stops for this long is abandoned.
   */
  static final Duration DEFAULT_STALL_TIMEOUT = Duration.ofSeconds(60);

  /**
   * Largest body accepted when neither the catalog nor the server gives a size: the largest catalog file (CLIP
   * ViT-L/14-336's pytorch_model.bin) is under 2 GiB, so a server streaming without end is stopped long before the disk
   * fills.
   */
  static final long MAX_UNSIZED_BYTES = 8L << 30;

  /** What the file must be; any part may be unknown (null). */
  record Expected(Long bytes, String sha256, String sha256Prefix) {
    boolean hasHash() {
      return sha256 != null || sha256Prefix != null;
    }

    boolean hashMatches(String actual) {
      return (sha256 == null || sha256.equals(actual)) && (sha256Prefix == null || actual.startsWith(sha256Prefix));
    }

    String describeHash() {
      return sha256 != null ? sha256 : sha256Prefix + "...";
    }
  }

  /** The file in place, its size and SHA-256, and whether it was downloaded now (false: it was already there). */
  record Result(Path file, long bytes, String sha256, boolean downloaded) {}

  private final HttpClient client;
  private final Duration connectTimeout;
  private final Duration stallTimeout;
  private final BiFunction<String, Long, DownloadProgress> progress;

  Downloader(Duration connectTimeout, Duration stallTimeout, BiFunction<String, Long, DownloadProgress> progress) {
    this.client = HttpClient.newBuilder()
        .connectTimeout(connectTimeout)
        // HuggingFace resolve URLs and GitHub release assets answer with redirects to their storage; NORMAL follows
        // them except from https to http.
        .followRedirects(HttpClient.Redirect.NORMAL)
        .build();
    this.connectTimeout = connectTimeout;
    this.stallTimeout = stallTimeout;
    this.progress = progress;
  }

  /**
   * Puts the file at {@code uri} at {@code target}.
   *
   * <p>If {@code target} already exists as a regular file: with a known hash that it matches, it is kept (not
   * downloaded); with no hash to check, it is kept and its hash reported; otherwise (a different file) it is refused
   * unless {@code force}, which replaces it with the download.
   *
   * @param label the name used in messages (the catalog name)
   */
  Result fetch(String label, URI uri, Path target, Expected expected, boolean force) {
    if (Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)) {
      String have = sha256(target);
      long size = size(target);
      boolean sizeOk = expected.bytes() == null || expected.bytes() == size;
      if (!expected.hasHash() && !force) {
        return new Result(target, size, have, false);
      }
      if (expected.hasHash() && expected.hashMatches(have) && sizeOk) {
        return new Result(target, size, have, false);
      }
      if (!force) {
        throw new FetchException(label + ": " + target + " already exists with sha256 " + have + " (" + size
            + " bytes), expected " + expected.describeHash() + "; use --force to replace it");
      }
    }
    // A symbolic link, folder or device in the way is refused before anything is requested (AtomicFiles checks again).
    String problem = OutputFiles.problem(target, force, true);
    if (problem != null) {
      throw new FetchException(label + ": " + problem);
    }
    // Folders this download creates are removed again if it fails, so that a failure leaves no trace at all (an
    // empty models/clip-... folder would otherwise look like a present one).
    Path firstCreated = firstMissingAncestor(target.toAbsolutePath().getParent());
    boolean done = false;
    try {
      Result r = download(label, uri, target, expected, force);
      done = true;
      return r;
    } finally {
      if (!done && firstCreated != null) {
        removeEmptyFolders(target.toAbsolutePath().getParent(), firstCreated);
      }
    }
  }

  /** The outermost folder of {@code dir}'s chain that does not exist yet (null if {@code dir} exists). */
  private static Path firstMissingAncestor(Path dir) {
    Path missing = null;
    for (Path p = dir; p != null && !Files.exists(p, LinkOption.NOFOLLOW_LINKS); p = p.getParent()) {
      missing = p;
    }
    return missing;
  }

  private static void removeEmptyFolders(Path from, Path upTo) {
    for (Path p = from; p != null && p.startsWith(upTo); p = p.getParent()) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException e) {
        return; // not empty (or not ours to remove): stop here
      }
    }
  }

  private Result download(String label, URI uri, Path target, Expected expected, boolean force) {
    HttpRequest request = HttpRequest.newBuilder(uri)
        .GET()
        // Applies until the response headers arrive; the body has its own stall check below.
        .timeout(stallTimeout)
        .header("User-Agent", "taco-fetch/1")
        .build();
    HttpResponse<Flow.Publisher<List<ByteBuffer>>> response;
    try {
      response = client.send(request, HttpResponse.BodyHandlers.ofPublisher());
    } catch (HttpConnectTimeoutException e) {
      throw new FetchException(label + ": cannot connect to " + uri.getHost() + " within " + seconds(connectTimeout)
          + " (--connect-timeout; " + uri + ")");
    } catch (HttpTimeoutException e) {
      throw new FetchException(label + ": no response from " + uri + " within " + seconds(stallTimeout)
          + " (--stall-timeout)");
    } catch (ConnectException e) {
      throw new FetchException(label + ": cannot connect to " + uri.getHost() + " (" + uri + "): " + reason(e));
    } catch (IOException e) {
      throw new FetchException(label + ": request to " + uri + " failed: " + reason(e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new FetchException(label + ": interrupted");
    }
    Pipe pipe = new Pipe();
    response.body().subscribe(pipe);
    try {
      if (response.statusCode() != 200) {
        throw new FetchException(label + ": HTTP " + response.statusCode() + " from " + response.uri()
            + (response.uri().equals(uri) ? "" : " (redirected from " + uri + ")"));
      }
      long announced = response.headers().firstValueAsLong("Content-Length").orElse(-1);
      if (announced >= 0 && expected.bytes() != null && announced != expected.bytes()) {
        throw new FetchException(label + ": the server announces " + announced + " bytes, expected "
            + expected.bytes() + " (" + response.uri() + ")");
      }
      long limit = expected.bytes() != null ? expected.bytes() : announced >= 0 ? announced : MAX_UNSIZED_BYTES;
      long total = expected.bytes() != null ? expected.bytes() : announced;
      MessageDigest digest = newSha256();
      long[] received = {0};
      String[] sha = {null};
      AtomicFiles.write(target, force, out -> {
        try (DownloadProgress bar = progress.apply(label, total)) {
          received[0] = pipe.drainTo(out, digest, limit, bar, label, response.uri());
        }
        sha[0] = HexFormat.of().formatHex(digest.digest());
        // Checked before AtomicFiles moves the temporary file into place: a refusal here deletes it.
        check(label, response.uri(), received[0], announced, sha[0], expected);
      }, FetchException::new);
      return new Result(target, received[0], sha[0], true);
    } finally {
      pipe.cancel();
    }
  }

  private static void check(String label, URI from, long received, long announced, String sha, Expected expected) {
    if (announced >= 0 && received != announced) {
      throw new FetchException(label + ": truncated: received " + received + " of the " + announced
          + " bytes announced by " + from);
    }
    if (expected.bytes() != null && received != expected.bytes()) {
      throw new FetchException(label + ": received " + received + " bytes, expected " + expected.bytes() + " ("
          + from + ")");
    }
    if (expected.hasHash() && !expected.hashMatches(sha)) {
      throw new FetchException(label + ": sha256 mismatch: got " + sha + ", expected " + expected.describeHash()
          + " (" + from + "); nothing was kept");
    }
  }

  /**
   * Receives the body pushed by the HTTP client, one buffer list at a time (so at most one is held in memory), with a
   * bounded wait for each.
   */
  private final class Pipe implements Flow.Subscriber<List<ByteBuffer>> {
    private static final Object COMPLETE = new Object();
    private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private volatile Flow.Subscription subscription;
    private volatile boolean cancelled;

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      if (cancelled) {
        s.cancel();
      } else {
        s.request(1);
      }
    }

    @Override
    public void onNext(List<ByteBuffer> item) {
      queue.add(item);
    }

    @Override
    public void onError(Throwable t) {
      queue.add(t);
    }

    @Override
    public void onComplete() {
      queue.add(COMPLETE);
    }

    void cancel() {
      cancelled = true;
      Flow.Subscription s = subscription;
      if (s != null) {
        s.cancel();
      }
    }

    /** Writes the whole body to {@code out}; returns its length, or throws a {@link FetchException}. */
    long drainTo(OutputStream out, MessageDigest digest, long limit, DownloadProgress bar, String label, URI from)
        throws IOException {
      long count = 0;
      byte[] copy = new byte[0];
      while (true) {
        Object item;
        try {
          item = queue.poll(stallTimeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new FetchException(label + ": interrupted after " + count + " bytes");
        }
        if (item == null) {
          throw new FetchException(label + ": stalled: no data for " + seconds(stallTimeout) + " after " + count
              + " bytes from " + from + " (--stall-timeout)");
        }
        if (item == COMPLETE) {
          return count;
        }
        if (item instanceof Throwable t) {
          throw new FetchException(label + ": download broke off after " + count + " bytes"
              + (limit != MAX_UNSIZED_BYTES && count < limit ? " of " + limit + " (truncated)" : "") + " from " + from
              + ": " + reason(t));
        }
        @SuppressWarnings("unchecked")
        List<ByteBuffer> buffers = (List<ByteBuffer>) item;
        for (ByteBuffer b : buffers) {
          int n = b.remaining();
          if (count + n > limit) {
            throw new FetchException(label + ": the server sent more than " + limit + " bytes (" + from + ")");
          }
          if (copy.length < n) {
            copy = new byte[Math.max(n, 1 << 16)];
          }
          b.get(copy, 0, n);
          digest.update(copy, 0, n);
          out.write(copy, 0, n);
          count += n;
          bar.advance(n);
        }
        subscription.request(1);
      }
    }
  }

  private static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform provides SHA-256", e);
    }
  }

  /** SHA-256 of a file, as lower-case hex. */
  static String sha256(Path file) {
    MessageDigest d = newSha256();
    byte[] buf = new byte[1 << 16];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n; (n = in.read(buf)) > 0; ) {
        d.update(buf, 0, n);
      }
    } catch (IOException e) {
      throw new FetchException(file + ": cannot read (" + reason(e) + ")");
    }
    return HexFormat.of().formatHex(d.digest());
  }

  private static long size(Path file) {
    try {
      return Files.size(file);
    } catch (IOException e) {
      throw new FetchException(file + ": cannot read (" + reason(e) + ")");
    }
  }

  /** The first message along the cause chain (the HTTP client's ConnectException often has none of its own). */
  private static String reason(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t.getMessage() != null && !t.getMessage().isBlank()) {
        return t.getMessage().replace('\n', ' ');
      }
    }
    Throwable root = e;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    if (root instanceof java.nio.channels.UnresolvedAddressException) {
      return "cannot resolve the host name (no network or DNS?)";
    }
    return root == e ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + " (" + root.getClass().getSimpleName() + ")";
  }

  private static String seconds(Duration d) {
    return d.toMillis() / 1000.0 + " s";
  }
}
