package ai.taco.core.bitstream;

import java.util.Locale;

/**
 * Which variant of the Gaussian conditional's scale table a bitstream was coded with. The tables themselves are format
 * constants of the latent path; this type only names them, for the builder ({@code TacoCodec.Builder.optScaleTable})
 * and the container ({@code TacoFile} records {@link #code()}).
 *
 * <p>CompressAI builds the table at run time ({@code exp(linspace(log 0.11, log 256, 64))} in float32, TACO's {@code
 * utils/func.py get_scale_table}); PyTorch 1.x and 2.x round 14 of the 64 scales differently and so give different CDF
 * rows 46 and 57. A bitstream encoded under one cannot always be decoded under the other, hence two named variants
 * (docs/bitstream.md).
 */
public enum ScaleTable {
  /** PyTorch 1.x tables: what the official TACO code and checkpoints produce. The default. */
  TORCH1("torch1", 1),
  /** PyTorch 2.x tables (differ in rows 46 and 57); for {@code .bin} files from a PyTorch 2 encoder. */
  TORCH2("torch2", 2);

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

  /** Command-line / JSON name: {@code torch1} or {@code torch2}; also names the table's resource. */
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
}
