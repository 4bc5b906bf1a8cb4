package ai.taco.eval.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Any codec installed on the machine (BPG, VTM, cwebp, ...) driven through two command templates.
 *
 * <p>Spec syntax (one {@code --external} option each): {@code NAME[@Q1,Q2,...]:ENCODE;DECODE}. Each template is split
 * on whitespace (no shell, so no pipes or globbing; wrap in {@code sh -c '...'} if you need them) and these
 * placeholders are replaced inside every word: {@code {in}} the original as an 8-bit RGB PNG, {@code {out}} the
 * bitstream file (its size is the rate), {@code {recon}} the reconstruction the decoder must write (PNG, or any format
 * javax.imageio reads), {@code {q}} the quality/setting value, {@code {w}} / {@code {h}} the image size. Example:
 * {@code bpg@22,27,32,37:bpgenc -q {q} -o {out} {in};bpgdec -o {recon} {out}}.
 */
public final class ExternalCodec implements ImageCodec {

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.+-]+");
  /** A hung external tool must not hang the benchmark. */
  private static final Duration TIMEOUT = Duration.ofMinutes(30);

  private final String name;
  private final String quality;
  private final List<String> encode;
  private final List<String> decode;
  private int lastWidth;
  private int lastHeight;

  ExternalCodec(String name, String quality, List<String> encode, List<String> decode) {
    this.name = name;
    this.quality = quality;
    this.encode = List.copyOf(encode);
    this.decode = List.copyOf(decode);
  }

  /** Parses one spec into one codec per listed quality (one codec with {q} = "" when none is listed). */
  public static List<ExternalCodec> parse(String spec) {
    int colon = spec.indexOf(':');
    if (colon <= 0) {
      throw new BenchmarkException("external codec spec must look like NAME[@Q1,Q2]:ENCODE;DECODE, got: " + spec);
    }
    String head = spec.substring(0, colon).trim();
    String body = spec.substring(colon + 1);
    String name = head;
    List<String> qualities = new ArrayList<>();
    int at = head.indexOf('@');
    if (at >= 0) {
      name = head.substring(0, at).trim();
      for (String q : head.substring(at + 1).split(",")) {
        if (!q.isBlank()) {
          qualities.add(q.trim());
        }
      }
      if (qualities.isEmpty()) {
        throw new BenchmarkException("external codec '" + name + "': empty quality list after '@'");
      }
    }
    if (!NAME.matcher(name).matches()) {
      throw new BenchmarkException("external codec name must match " + NAME.pattern() + ", got '" + name + "'");
    }
    int semi = body.indexOf(';');
    if (semi < 0) {
      throw new BenchmarkException("external codec '" + name + "': need ENCODE;DECODE separated by ';'");
    }
    List<String> enc = words(body.substring(0, semi));
    List<String> dec = words(body.substring(semi + 1));
    if (enc.isEmpty() || dec.isEmpty()) {
      throw new BenchmarkException("external codec '" + name + "': empty encode or decode command");
    }
    requirePlaceholder(name, "encode", enc, "{in}");
    requirePlaceholder(name, "encode", enc, "{out}");
    requirePlaceholder(name, "decode", dec, "{out}");
    requirePlaceholder(name, "decode", dec, "{recon}");
    if (qualities.isEmpty()) {
      qualities.add("");
    }
    List<ExternalCodec> codecs = new ArrayList<>();
    for (String q : qualities) {
      codecs.add(new ExternalCodec(name, q, enc, dec));
    }
    return codecs;
  }

  private static List<String> words(String s) {
    List<String> out = new ArrayList<>();
    for (String w : s.trim().split("\\s+")) {
      if (!w.isEmpty()) {
        out.add(w);
      }
    }
    return out;
  }

  private static void requirePlaceholder(String name, String which, List<String> cmd, String ph) {
    if (cmd.stream().noneMatch(w -> w.contains(ph))) {
      throw new BenchmarkException("external codec '" + name + "': the " + which + " command must use " + ph);
    }
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String setting() {
    return quality.isEmpty() ? "default" : "q=" + quality;
  }

  /** The two command templates (the tool's own version is not known to us: keep the tool unchanged to resume). */
  @Override
  public java.util.Map<String, String> configuration() {
    return java.util.Map.of("encode", String.join(" ", encode), "decode", String.join(" ", decode));
  }

  @Override
  public synchronized byte[] encode(RgbImage image, TextEmbedding text) {
    Path dir = tempDir();
    try {
      Path in = dir.resolve("in.png");
      Path out = dir.resolve("out.bin");
      image.writePng(in);
      lastWidth = image.width();
      lastHeight = image.height();
      run("encode", substitute(encode, in, out, dir.resolve("recon.png"), image.width(), image.height()), dir);
      if (!Files.isRegularFile(out)) {
        throw new BenchmarkException(name + " encode did not write the bitstream " + out);
      }
      return Files.readAllBytes(out);
    } catch (IOException e) {
      throw new BenchmarkException(name + " encode: " + e.getMessage(), e);
    } finally {
      deleteTree(dir);
    }
  }

  @Override
  public synchronized RgbImage decode(byte[] bitstream) {
    Path dir = tempDir();
    try {
      Path out = dir.resolve("out.bin");
      Path recon = dir.resolve("recon.png");
      Files.write(out, bitstream);
      run("decode", substitute(decode, dir.resolve("in.png"), out, recon, lastWidth, lastHeight), dir);
      if (!Files.isRegularFile(recon)) {
        throw new BenchmarkException(name + " decode did not write the reconstruction " + recon);
      }
      return RgbImage.read(recon);
    } catch (IOException e) {
      throw new BenchmarkException(name + " decode: " + e.getMessage(), e);
    } finally {
      deleteTree(dir);
    }
  }

  List<String> substitute(List<String> template, Path in, Path out, Path recon, int w, int h) {
    List<String> cmd = new ArrayList<>(template.size());
    for (String word : template) {
      cmd.add(
          word.replace("{in}", in.toString())
              .replace("{out}", out.toString())
              .replace("{recon}", recon.toString())
              .replace("{q}", quality)
              .replace("{w}", Integer.toString(w))
              .replace("{h}", Integer.toString(h)));
    }
    return cmd;
  }

  private void run(String what, List<String> cmd, Path dir) {
    Path log = dir.resolve(what + ".log");
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
    pb.redirectOutput(log.toFile());
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new BenchmarkException(name + " " + what + ": cannot start '" + cmd.get(0) + "': " + e.getMessage(), e);
    }
    try {
      if (!p.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new BenchmarkException(name + " " + what + " timed out after " + TIMEOUT + ": " + String.join(" ", cmd));
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new BenchmarkException(name + " " + what + " interrupted", e);
    }
    if (p.exitValue() != 0) {
      String output = "";
      try {
        output = Files.readString(log, StandardCharsets.UTF_8).strip();
      } catch (IOException ignored) {
        // keep the exit code message
      }
      if (output.length() > 2000) {
        output = output.substring(output.length() - 2000);
      }
      throw new BenchmarkException(
          name + " " + what + " failed (exit " + p.exitValue() + "): " + String.join(" ", cmd)
              + (output.isEmpty() ? "" : "\n" + output));
    }
  }

  private static Path tempDir() {
    try {
      return Files.createTempDirectory("taco-external-");
    } catch (IOException e) {
      throw new BenchmarkException("cannot create a temporary directory: " + e.getMessage(), e);
    }
  }

  static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // best effort: a leftover temp dir is harmless
    }
  }
}
