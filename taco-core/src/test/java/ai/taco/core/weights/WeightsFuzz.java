package ai.taco.core.weights;

import ai.taco.core.error.TacoException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Mutation fuzzing of the weights loaders ({@link StateDict#load}: zip and legacy torch.save, safetensors). Seeds are
 * small valid files built here (nested dicts, an optimizer state with integer keys, float32/float16/int64 tensors,
 * transposed and offset views, shared storage); each mutant applies 1 to 4 random edits (bit flips, boundary values,
 * 32-bit length fields, inserted, deleted, duplicated or truncated ranges) and is loaded. For the zip format, most
 * mutants edit {@code data.pkl} and are re-zipped (so the pickle parser is reached rather than the zip checksum).
 *
 * <p>The only acceptable outcomes are a successful load or a {@link TacoException}; anything else (another
 * exception or error) is counted as untyped and a few examples are kept.
 */
public final class WeightsFuzz {
  /** The loaders' input classes. */
  public enum Format {
    TORCH_ZIP,
    TORCH_LEGACY,
    SAFETENSORS
  }

  /** Outcome counts of one format. */
  public record Counts(long mutations, long loaded, long typed, long untyped, long slowestMillis) {}

  /**
   * Outcome of a run.
   *
   * @param untypedExamples up to 10 "format: exception" descriptions of untyped failures
   * @param typedMessages how often each typed message (file name removed, digits collapsed) occurred, most first
   */
  public record Report(Map<Format, Counts> counts, List<String> untypedExamples, Map<String, Long> typedMessages) {
    public long mutations() {
      return counts.values().stream().mapToLong(Counts::mutations).sum();
    }

    public long untyped() {
      return counts.values().stream().mapToLong(Counts::untyped).sum();
    }
  }

  private WeightsFuzz() {}

  /** The one file each mutant is written to (and overwritten by the next) in the run's directory. */
  public static final String MUTANT_FILE = "mutant.bin";

  /**
   * A new directory for the mutants in RAM ({@code /dev/shm}) where there is one, else {@code fallback}: the run
   * writes one small file per mutant, and a busy disk would dominate its time.
   */
  public static Path scratchDirectory(Path fallback) throws IOException {
    Path shm = Path.of("/dev/shm");
    if (Files.isDirectory(shm) && Files.isWritable(shm)) {
      return Files.createTempDirectory(shm, "taco-fuzz");
    }
    return fallback;
  }

  /**
   * Runs {@code total} mutants, split evenly over the formats, from a fixed {@code seed}, writing each to a file in
   * {@code dir}.
   */
  public static Report run(long total, long seed, Path dir) {
    SplittableRandom rnd = new SplittableRandom(seed);
    Map<Format, Counts> counts = new LinkedHashMap<>();
    List<String> untyped = new ArrayList<>();
    Map<String, Long> messages = new java.util.HashMap<>();
    Path file = dir.resolve(MUTANT_FILE);
    Format[] formats = Format.values();
    for (Format format : formats) {
      long perFormat = total / formats.length + (format.ordinal() < total % formats.length ? 1 : 0);
      byte[] seedFile = seed(format);
      byte[] zipPickle = format == Format.TORCH_ZIP ? zipEntry(seedFile, "archive/data.pkl") : null;
      long loaded = 0;
      long typed = 0;
      long bad = 0;
      long slowest = 0;
      for (long i = 0; i < perFormat; i++) {
        byte[] mutant;
        if (format == Format.TORCH_ZIP && rnd.nextInt(4) != 0) {
          mutant = PickleWriter.torchZip(mutate(zipPickle, rnd), seedStorages());
        } else {
          mutant = mutate(seedFile, rnd);
        }
        try {
          Files.write(file, mutant);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        long t0 = System.nanoTime();
        try {
          StateDict.load(file);
          loaded++;
        } catch (TacoException e) {
          typed++;
          String m = String.valueOf(e.getMessage()).replace(file.toString(), "FILE").replaceAll("[0-9]+", "N");
          messages.merge(m.length() > 120 ? m.substring(0, 120) : m, 1L, Long::sum);
        } catch (Throwable e) { // the point of the fuzzer: anything but a TacoException is a defect
          bad++;
          if (untyped.size() < 10) {
            String where = Arrays.stream(e.getStackTrace())
                .filter(f -> !f.getClassName().startsWith("java."))
                .limit(2)
                .map(String::valueOf)
                .reduce((x, y) -> x + " < " + y)
                .orElse("?");
            untyped.add(format + ": " + e + " at " + where);
          }
        }
        slowest = Math.max(slowest, (System.nanoTime() - t0) / 1_000_000);
      }
      counts.put(format, new Counts(perFormat, loaded, typed, bad, slowest));
    }
    Map<String, Long> sorted = new LinkedHashMap<>();
    messages.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .forEach(e -> sorted.put(e.getKey(), e.getValue()));
    return new Report(counts, untyped, sorted);
  }

  /** The valid seed file of a format. */
  static byte[] seed(Format format) {
    switch (format) {
      case TORCH_ZIP:
        return PickleWriter.torchZip(checkpointPickle(false), seedStorages());
      case TORCH_LEGACY:
        return PickleWriter.legacy(checkpointPickle(true), seedStorages(), Map.of("0", 4, "1", 2, "2", 8));
      default:
        return safetensorsSeed();
    }
  }

  /** Storage "0": 6 float32, "1": 3 float16, "2": 2 int64. */
  private static Map<String, byte[]> seedStorages() {
    Map<String, byte[]> s = new LinkedHashMap<>();
    ByteBuffer f = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < 6; i++) {
      f.putFloat(i + 0.5f);
    }
    s.put("0", f.array());
    s.put("1", new byte[] {0x00, 0x3c, 0x00, 0x40, 0x00, (byte) 0xc2}); // 1, 2, -3 in float16
    ByteBuffer l = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(7).putLong(-1);
    s.put("2", l.array());
    return s;
  }

  /**
   * {@code {'epoch': 3, 'state_dict': OrderedDict(w, w_t (transposed view), tail (offset view), h (float16), n
   * (int64)), 'optimizer': {'state': {0: {'step': 1}}, 'param_groups': [{'lr': 1e-4, 'params': [0, 1]}]}}} with memo
   * PUT/GET for the shared storage type, as torch writes it.
   */
  private static byte[] checkpointPickle(boolean legacy) {
    PickleWriter p = new PickleWriter().proto(2).op('}').put(0).mark();
    p.str("epoch").integer(3);
    p.str("state_dict").global("collections", "OrderedDict").op(')', 'R').put(1).mark();
    tensor(p, legacy, "w", "FloatStorage", "0", 6, 0, new long[] {2, 3}, new long[] {3, 1});
    tensor(p, legacy, "w_t", "FloatStorage", "0", 6, 0, new long[] {3, 2}, new long[] {1, 3});
    tensor(p, legacy, "tail", "FloatStorage", "0", 6, 4, new long[] {2}, new long[] {1});
    tensor(p, legacy, "h", "HalfStorage", "1", 3, 0, new long[] {3}, new long[] {1});
    tensor(p, legacy, "n", "LongStorage", "2", 2, 0, new long[] {2}, new long[] {1});
    p.op('u');
    p.str("optimizer").op('}').mark().str("state").op('}').mark().integer(0).op('}').mark().str("step").integer(1)
        .op('u', 'u');
    p.str("param_groups").op(']').mark().op('}').mark().str("lr").real(1e-4).str("params").op(']').mark()
        .integer(0).integer(1).op('e', 'u', 'e', 'u');
    return p.op('u').stop().bytes();
  }

  private static void tensor(PickleWriter p, boolean legacy, String name, String type, String key, long numel,
      long offset, long[] size, long[] stride) {
    p.str(name);
    if (legacy) {
      p.legacyTensor(type, key, numel, offset, size, stride);
    } else {
      p.tensor(type, key, numel, offset, size, stride);
    }
  }

  private static byte[] safetensorsSeed() {
    String header = "{\"__metadata__\":{\"format\":\"pt\"},"
        + "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
        + "\"h\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[24,30]},"
        + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[30,32]},"
        + "\"d\":{\"dtype\":\"F64\",\"shape\":[1,1],\"data_offsets\":[32,40]},"
        + "\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[40,48]}}";
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + 48).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(h.length).put(h);
    for (int i = 0; i < 6; i++) {
      b.putFloat(i);
    }
    b.put(new byte[] {0x00, 0x3c, 0x00, 0x40, 0x00, (byte) 0xc2}).putShort((short) 0x3f80).putDouble(0.25).putLong(9);
    return b.array();
  }

  private static byte[] zipEntry(byte[] zip, String name) {
    try (ZipInputStream in = new ZipInputStream(new java.io.ByteArrayInputStream(zip))) {
      for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
        if (e.getName().equals(name)) {
          return in.readAllBytes();
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    throw new IllegalStateException("seed without " + name);
  }

  private static final int[] BOUNDARY_BYTES = {0, 1, 0x7f, 0x80, 0xff, '(', '.', 'u', 'e', 'X', 0x8b};
  private static final long[] BOUNDARY_INTS = {0, 1, -1, -5, 0x7f, 0xff, 0x7fff, 0x7fffffffL, 0x80000000L, 1L << 30};

  /** 1 to 4 random edits of {@code in}. */
  static byte[] mutate(byte[] in, SplittableRandom rnd) {
    byte[] b = in.clone();
    int edits = 1 + rnd.nextInt(4);
    for (int k = 0; k < edits && b.length > 0; k++) {
      int at = rnd.nextInt(b.length);
      switch (rnd.nextInt(7)) {
        case 0: // bit flip
          b[at] ^= (byte) (1 << rnd.nextInt(8));
          break;
        case 1: // boundary byte
          b[at] = (byte) BOUNDARY_BYTES[rnd.nextInt(BOUNDARY_BYTES.length)];
          break;
        case 2: { // 32-bit little-endian field (lengths, counts, offsets)
          long v = BOUNDARY_INTS[rnd.nextInt(BOUNDARY_INTS.length)];
          for (int i = 0; i < 4 && at + i < b.length; i++) {
            b[at + i] = (byte) (v >> (8 * i));
          }
          break;
        }
        case 3: { // insert random bytes
          byte[] ins = new byte[1 + rnd.nextInt(8)];
          for (int i = 0; i < ins.length; i++) {
            ins[i] = (byte) rnd.nextInt(256);
          }
          b = splice(b, at, 0, ins);
          break;
        }
        case 4: // delete a range
          b = splice(b, at, Math.min(b.length - at, 1 + rnd.nextInt(16)), new byte[0]);
          break;
        case 5: { // duplicate a range elsewhere (repeats opcodes, memo slots, JSON fields)
          int len = Math.min(b.length - at, 1 + rnd.nextInt(32));
          b = splice(b, rnd.nextInt(b.length + 1), 0, Arrays.copyOfRange(b, at, at + len));
          break;
        }
        default: // truncate
          b = Arrays.copyOf(b, at);
          break;
      }
    }
    return b;
  }

  private static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
    byte[] out = new byte[b.length - remove + insert.length];
    System.arraycopy(b, 0, out, 0, at);
    System.arraycopy(insert, 0, out, at, insert.length);
    System.arraycopy(b, at + remove, out, at + insert.length, b.length - at - remove);
    return out;
  }
}
