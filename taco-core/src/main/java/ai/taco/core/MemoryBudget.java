package ai.taco.core;

import ai.taco.core.error.InsufficientMemoryException;
import ai.taco.core.error.TacoException;
import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * Bounds the native memory of coding calls. Each call estimates what it needs from the image size and the model
 * ({@link #estimate}) before allocating anything and reserves it; a call whose estimate alone exceeds the budget is
 * refused with an {@link InsufficientMemoryException}, and concurrent calls wait until their reservations fit
 * together. This replaces an allocation failure deep inside libtorch (or the kernel's OOM killer) by one line naming
 * the image size, the estimate and the budget.
 *
 * <p>The budget is the {@code taco.memoryBudget} system property ({@code 8g}, {@code 512m}, or bytes) if set, else
 * the machine's (or container's) physical memory less the JVM's maximum heap and {@link #RESERVE_BYTES}.
 *
 * <p>Native memory is one pool per process, so there is ONE budget per JVM ({@link #shared()}), which every codec
 * reserves from: two codecs (or two Spark tasks in one executor) cannot each claim the whole machine. It is the one
 * piece of process-wide state of the codec, for the same reason as {@link LibTorch}'s settings: the resource it guards
 * is process-wide. Its size is read at every reservation, so the property may be set any time before a call.
 */
final class MemoryBudget {
  /** System property overriding the default budget. */
  static final String PROPERTY = "taco.memoryBudget";

  /**
   * Native bytes per padded pixel per latent channel N of the analysis/synthesis transforms. Measured: the full model
   * (N=192) peaks near 0.95 GiB per megapixel above its 1 GiB base (docs/performance.md), the tiny one (N=16) used
   * 6.5 GB on an 8192² image: both about 5 bytes per pixel and channel once the image buffers below are counted.
   */
  static final double BYTES_PER_PIXEL_PER_CHANNEL = 5.0;

  /** Float32 RGB image buffers alive in a call: input, padded input, reconstruction and its clamped copy. */
  static final double IMAGE_BYTES_PER_PIXEL = 4 * 3 * Float.BYTES;

  /** Kept free for libtorch itself, the weights and the JVM outside its heap. */
  static final long RESERVE_BYTES = 1L << 30;

  /** The JVM's one budget, sized from the system at each reservation (see the class comment). */
  private static final MemoryBudget SHARED = new MemoryBudget(MemoryBudget::systemBytes);

  /** The budget's size in bytes, asked at each reservation. */
  private final java.util.function.LongSupplier budget;
  private long reserved;

  /** A budget of fixed size (tests); codecs use {@link #shared()}. */
  MemoryBudget(long budgetBytes) {
    if (budgetBytes <= 0) {
      throw new IllegalArgumentException("memory budget must be positive: " + budgetBytes);
    }
    this.budget = () -> budgetBytes;
  }

  private MemoryBudget(java.util.function.LongSupplier budget) {
    this.budget = budget;
  }

  /** The JVM's one budget, shared by every codec in it. */
  static MemoryBudget shared() {
    return SHARED;
  }

  /** The budget from {@link #PROPERTY}, else from the physical memory (see the class comment). */
  static long systemBytes() {
    String p = System.getProperty(PROPERTY);
    if (p != null && !p.isBlank()) {
      return parseBytes(p);
    }
    long physical = physicalMemory();
    long heap = Runtime.getRuntime().maxMemory();
    return Math.max(RESERVE_BYTES, physical - heap - RESERVE_BYTES);
  }

  long bytes() {
    return budget.getAsLong();
  }

  /** Total physical memory as the JVM sees it (container limits included), or Long.MAX_VALUE if unknown. */
  static long physicalMemory() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      long total = os.getTotalMemorySize();
      return total > 0 ? total : Long.MAX_VALUE;
    }
    return Long.MAX_VALUE;
  }

  /** {@code 123}, {@code 512k}, {@code 512m}, {@code 8g}, {@code 1t} (binary units). */
  static long parseBytes(String s) {
    String t = s.trim().toLowerCase(Locale.ROOT);
    int shift = 0;
    char last = t.isEmpty() ? ' ' : t.charAt(t.length() - 1);
    switch (last) {
      case 'k': shift = 10; break;
      case 'm': shift = 20; break;
      case 'g': shift = 30; break;
      case 't': shift = 40; break;
      default: break;
    }
    String digits = shift == 0 ? t : t.substring(0, t.length() - 1);
    try {
      long v = Long.parseLong(digits.trim());
      if (v <= 0 || v > (Long.MAX_VALUE >> shift)) {
        throw new NumberFormatException();
      }
      return v << shift;
    } catch (NumberFormatException e) {
      throw new TacoException("-D" + PROPERTY + "=" + s + " is not a positive size such as 8g or 512m");
    }
  }

  /**
   * Bytes per padded pixel per latent channel M that still grow with the image when gA/gS run tiled: y and ŷ (4 bytes
   * per channel at 1/256 of the pixels each: M/64), the hyper parameters (2M channels: M/32) and the rANS encoder's
   * 4-byte step per y symbol (M/64), 5M/64 in all (25 bytes per pixel for M=320; docs/performance.md, "Large images").
   */
  static final double TILED_BYTES_PER_PIXEL_PER_LATENT_CHANNEL = 5.0 / 64;

  /** Bytes per padded pixel per channel N of gA's 1/8 map, which the Extractor reads whole (4 bytes at 1/64). */
  static final double TILED_BYTES_PER_PIXEL_PER_CHANNEL = 1.0 / 16;

  /**
   * Float32 RGB image buffers alive in a tiled call: one, the host copy {@code decompress} returns (the encoder reads
   * its input tile by tile, the banded decode holds a band).
   */
  static final double TILED_IMAGE_BYTES_PER_PIXEL = 3 * Float.BYTES;

  /**
   * Tiles hold their halos too: the largest halo overhead of {@link Tiling}'s stages is 1.6× the tile (gS's low stage,
   * docs/performance.md).
   */
  static final double HALO_FACTOR = 1.6;

  /**
   * A gA tile holds less per pixel than a gS tile (gA's full-resolution head runs per sub-tile, gS's 1/4-resolution
   * blocks per tile): at 7680×4320 a 1536-pixel gA tile peaked like a 1024-pixel gS tile (2507 against 2645 MiB,
   * docs/performance.md, "Large images"), so gA's edge counts two thirds.
   */
  static final double ANALYSIS_TILE_EDGE_WEIGHT = 2.0 / 3;

  /** Estimated native bytes of one untiled encode or decode of an image padded to {@code pixels}. */
  static double estimate(TacoConfig config, double pixels) {
    return pixels * (BYTES_PER_PIXEL_PER_CHANNEL * config.n() + IMAGE_BYTES_PER_PIXEL);
  }

  /**
   * As {@link #estimate(TacoConfig, double)} with gA/gS run over {@code tiling}: the transforms' maps are bounded by a
   * tile with its halo; the image buffers and the latent-resolution maps still grow with the image.
   */
  static double estimate(TacoConfig config, double pixels, Tiling tiling) {
    double edge = Math.max(tiling.synthesisTile(), ANALYSIS_TILE_EDGE_WEIGHT * tiling.tile());
    double tileArea = HALO_FACTOR * edge * edge;
    if (pixels <= tileArea) {
      return estimate(config, pixels);
    }
    return tileArea * BYTES_PER_PIXEL_PER_CHANNEL * config.n()
        + pixels * (TILED_IMAGE_BYTES_PER_PIXEL + TILED_BYTES_PER_PIXEL_PER_CHANNEL * config.n()
            + TILED_BYTES_PER_PIXEL_PER_LATENT_CHANNEL * config.m());
  }

  /** Pixels of an H×W image padded to multiples of {@code multiple} (in double: sizes may be forged). */
  static double paddedPixels(double height, double width, int multiple) {
    return Math.ceil(height / multiple) * multiple * Math.ceil(width / multiple) * multiple;
  }

  /** A reservation, released by {@link #close()}. */
  final class Reservation implements AutoCloseable {
    private final long bytes;
    private boolean released;

    private Reservation(long bytes) {
      this.bytes = bytes;
    }

    @Override
    public void close() {
      synchronized (MemoryBudget.this) {
        if (!released) {
          released = true;
          reserved -= bytes;
          MemoryBudget.this.notifyAll();
        }
      }
    }
  }

  /**
   * Reserves {@code bytes}, waiting while other calls hold too much of the budget.
   *
   * @param what the call, for the message (e.g. "decoding a 16384x16384 image")
   * @throws InsufficientMemoryException if {@code bytes} alone exceeds the budget
   */
  Reservation reserve(double bytes, String what) {
    long limit = bytes();
    if (!(bytes <= limit)) {
      throw new InsufficientMemoryException(String.format(Locale.ROOT,
          "%s needs about %s of native memory, more than the budget of %s (set -D%s=SIZE to change it)", what,
          human(bytes), human(limit), PROPERTY));
    }
    long b = (long) Math.ceil(bytes);
    synchronized (this) {
      boolean interrupted = false;
      // A call alone always proceeds (it passed the check above); the size may change between reservations.
      while (reserved > 0 && reserved + b > bytes()) {
        try {
          wait();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      reserved += b;
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    return new Reservation(b);
  }

  synchronized long reservedBytes() {
    return reserved;
  }

  static String human(double bytes) {
    if (bytes >= (1L << 30)) {
      return String.format(Locale.ROOT, "%.1f GiB", bytes / (1L << 30));
    }
    return String.format(Locale.ROOT, "%.0f MiB", bytes / (1L << 20));
  }
}
