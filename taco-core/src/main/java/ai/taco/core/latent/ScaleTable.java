package ai.taco.core.latent;

import ai.taco.entropy.CdfTables;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * The Gaussian conditional's scale table and its quantized CDF tables, shipped as FORMAT CONSTANTS.
 *
 * <p>CompressAI builds the table at run time as {@code exp(linspace(log 0.11, log 256, 64))} in float32 (TACO's
 * {@code utils/func.py get_scale_table}) and then quantizes discretised Gaussians with {@code erfc}. PyTorch 1.x and
 * 2.x give different float32 scales (1 ulp on 14 of 64) and thus different CDF rows 46 and 57, so a bitstream encoded
 * under one cannot always be decoded under the other. The tables are therefore part of the bitstream format, and both
 * variants are stored as resources generated once from the reference outputs (see {@code docs/bitstream.md}); nothing
 * here depends on platform float math.
 *
 * <p>Resource layout ({@code scale_table_<id>.bin.gz}): gzip of big-endian int32s: magic {@code 0x54435354}
 * ("TCST"), version 1, n, n float32 bit patterns (scales), n offsets, n cdf lengths, then each CDF row as its first
 * value followed by successive differences.
 */
public enum ScaleTable {
  /** PyTorch 1.x tables: what the official TACO code and checkpoints produce. The default. */
  TORCH1("torch1", 1),
  /** PyTorch 2.x tables (differ in rows 46 and 57); for {@code .bin} files from a PyTorch 2 encoder. */
  TORCH2("torch2", 2);

  /** Number of scale levels ({@code get_scale_table(0.11, 256, 64)} in TACO's {@code utils/func.py}). */
  public static final int LEVELS = 64;

  /** Lower bound on scales: CompressAI {@code GaussianConditional(scale_bound=0.11)}, equal to the first entry. */
  public static final float SCALE_BOUND = 0.11f;

  static final int RESOURCE_MAGIC = 0x54435354;
  static final int RESOURCE_VERSION = 1;

  private final String id;
  private final int code;

  ScaleTable(String id, int code) {
    this.id = id;
    this.code = code;
  }

  /** The default variant, {@link #TORCH1}. */
  public static ScaleTable defaultTable() {
    return TORCH1;
  }

  /** Command-line / JSON name: {@code torch1} or {@code torch2}. */
  public String id() {
    return id;
  }

  /** One-byte code recorded in the TACO container. */
  public int code() {
    return code;
  }

  /** Looks a variant up by {@link #id()} (case-insensitive). */
  public static ScaleTable fromId(String id) {
    for (ScaleTable t : values()) {
      if (t.id.equals(id.toLowerCase(Locale.ROOT))) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown scale table '" + id + "' (expected torch1 or torch2)");
  }

  /** Looks a variant up by {@link #code()}; returns null if unknown. */
  public static ScaleTable fromCode(int code) {
    for (ScaleTable t : values()) {
      if (t.code == code) {
        return t;
      }
    }
    return null;
  }

  /** The 64 float32 scales, ascending (a copy). */
  public float[] scales() {
    return data().scales.clone();
  }

  /** Symbol offset of each row (= -ceil(scale * 6.109...)), a copy. */
  public int[] offsets() {
    return data().offsets.clone();
  }

  /** Length of each CDF row (= pmf length + 2), a copy. */
  public int[] cdfLengths() {
    return data().cdfLengths.clone();
  }

  /** CDF row {@code i} (16-bit precision, {@code cdfLengths()[i]} entries, 0 ... 65536), a copy. */
  public int[] cdf(int i) {
    return data().cdfs[i].clone();
  }

  /** Rows zero-padded to the longest one, like CompressAI's {@code _quantized_cdf} buffer (fresh arrays). */
  public int[][] paddedCdfs() {
    Data d = data();
    int max = Arrays.stream(d.cdfLengths).max().orElse(0);
    int[][] out = new int[d.cdfs.length][max];
    for (int i = 0; i < d.cdfs.length; i++) {
      System.arraycopy(d.cdfs[i], 0, out[i], 0, d.cdfs[i].length);
    }
    return out;
  }

  /** The tables in the form the rANS coder takes (shared, immutable). */
  public CdfTables cdfTables() {
    return data().cdfTables;
  }

  Data data() {
    return Holder.TABLES.get(this);
  }

  /** Immutable decoded resource; shared, never handed out without copying. */
  static final class Data {
    final float[] scales;
    final int[] offsets;
    final int[] cdfLengths;
    final int[][] cdfs;
    final CdfTables cdfTables;

    Data(float[] scales, int[] offsets, int[] cdfLengths, int[][] cdfs) {
      this.scales = scales;
      this.offsets = offsets;
      this.cdfLengths = cdfLengths;
      this.cdfs = cdfs;
      this.cdfTables = CdfTables.of(cdfs, offsets);
    }
  }

  /** Lazily loads both resources once (class-holder idiom: thread-safe, no mutable state). */
  private static final class Holder {
    static final Map<ScaleTable, Data> TABLES = load();

    private static Map<ScaleTable, Data> load() {
      Map<ScaleTable, Data> m = new EnumMap<>(ScaleTable.class);
      for (ScaleTable t : ScaleTable.values()) {
        String name = "scale_table_" + t.id + ".bin.gz";
        try (InputStream in = ScaleTable.class.getResourceAsStream(name)) {
          if (in == null) {
            throw new IllegalStateException("missing resource ai/taco/core/entropy/" + name);
          }
          m.put(t, read(new DataInputStream(new GZIPInputStream(in))));
        } catch (IOException e) {
          throw new UncheckedIOException("cannot read scale table resource " + name, e);
        }
      }
      return m;
    }

    private static Data read(DataInputStream in) throws IOException {
      if (in.readInt() != RESOURCE_MAGIC || in.readInt() != RESOURCE_VERSION) {
        throw new IOException("bad scale table resource header");
      }
      int n = in.readInt();
      float[] scales = new float[n];
      int[] offsets = new int[n];
      int[] lengths = new int[n];
      for (int i = 0; i < n; i++) {
        scales[i] = Float.intBitsToFloat(in.readInt());
      }
      for (int i = 0; i < n; i++) {
        offsets[i] = in.readInt();
      }
      for (int i = 0; i < n; i++) {
        lengths[i] = in.readInt();
      }
      int[][] cdfs = new int[n][];
      for (int i = 0; i < n; i++) {
        int[] row = new int[lengths[i]];
        int acc = 0;
        for (int j = 0; j < row.length; j++) {
          acc += in.readInt();
          row[j] = acc;
        }
        cdfs[i] = row;
      }
      return new Data(scales, offsets, lengths, cdfs);
    }
  }
}
