package ai.taco.core;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.taco.core.error.InsufficientMemoryException;
import ai.taco.core.error.TacoException;
import java.util.function.Supplier;

/** Maps allocation failures and non-finite results of native computations to typed one-line errors. */
final class NativeMemory {
  private NativeMemory() {}

  /** glibc's {@code malloc_trim}, or null where the C library has none (musl, macOS, Windows). */
  private static final com.sun.jna.Function MALLOC_TRIM =
      function(() -> com.sun.jna.NativeLibrary.getInstance(com.sun.jna.Platform.C_LIBRARY_NAME), "malloc_trim");

  /**
   * tcmalloc's {@code MallocExtension_ReleaseFreeMemory} when tcmalloc is the process's allocator (the
   * default of {@code scripts/taco}, docs/performance.md "Allocator"), else null. Looked up among the process's
   * global symbols: a preloaded library's are there.
   */
  private static final com.sun.jna.Function TCMALLOC_RELEASE =
      function(com.sun.jna.NativeLibrary::getProcess, "MallocExtension_ReleaseFreeMemory");

  /** The C function {@code name} of {@code library}, or null where there is none. */
  private static com.sun.jna.Function function(Supplier<com.sun.jna.NativeLibrary> library, String name) {
    try {
      return library.get().getFunction(name);
    } catch (UnsatisfiedLinkError | RuntimeException e) {
      return null;
    }
  }

  /**
   * Images of fewer pixels skip {@link #releaseFreedMemory(long)}: their stages' maps are a few hundred MB, which the
   * next stage reuses, and handing them back only makes the next stage fault them in again (kodim01, 0.4 megapixels:
   * docs/performance.md, "Allocator"). One megapixel is one 1024-pixel tile, the default tile.
   */
  static final long RELEASE_MIN_PIXELS = 1L << 20;

  /** {@link #releaseFreedMemory()} for an image of {@code pixels} pixels: only from {@link #RELEASE_MIN_PIXELS} on. */
  static void releaseFreedMemory(long pixels) {
    if (pixels >= RELEASE_MIN_PIXELS) {
      releaseFreedMemory();
    }
  }

  /**
   * Hands the C heap's free pages back to the kernel ({@code malloc_trim(0)}: every arena, not only the top of the
   * main one). Between the decoder's stages: the entropy decoding frees several hundred MB at 4K that glibc keeps
   * resident in the arenas of the threads that used it, where gS's differently sized maps do not reuse it, so it
   * added to the peak on top of gS's working set. Under tcmalloc, which serves libtorch instead of glibc and keeps
   * freed spans for reuse, its own release does the same. No-op without either.
   */
  static void releaseFreedMemory() {
    if (MALLOC_TRIM != null) {
      MALLOC_TRIM.invokeInt(new Object[] {0});
    }
    if (TCMALLOC_RELEASE != null) {
      TCMALLOC_RELEASE.invoke(Void.class, new Object[0]);
    }
  }

  /**
   * Runs {@code call}; a failed native allocation (libtorch's {@code DefaultCPUAllocator} error, whose raw message
   * starts with {@code [enforce fail at alloc_cpu.cpp]}) or a Java {@link OutOfMemoryError} becomes an {@link
   * InsufficientMemoryException}.
   *
   * @param what the call, for the message
   */
  static <T> T mapAllocationFailures(String what, Supplier<T> call) {
    try {
      return call.get();
    } catch (EngineException e) {
      if (isAllocationFailure(e.getMessage())) {
        throw new InsufficientMemoryException(what + ": out of native memory (" + allocationDetail(e.getMessage())
            + "); use a smaller image, fewer concurrent calls or a machine with more memory", e);
      }
      throw e;
    } catch (OutOfMemoryError e) {
      throw new InsufficientMemoryException(what + ": out of memory (" + e.getMessage() + ")", e);
    }
  }

  static boolean isAllocationFailure(String message) {
    return message != null && (message.contains("alloc_cpu") || message.contains("DefaultCPUAllocator")
        || message.contains("can't allocate memory") || message.contains("not enough memory"));
  }

  /** "tried to allocate N bytes" out of libtorch's message, else its first line (shortened). */
  static String allocationDetail(String message) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("allocate (\\d+) bytes").matcher(message);
    if (m.find()) {
      return "could not allocate " + MemoryBudget.human(Double.parseDouble(m.group(1)));
    }
    String first = message.lines().findFirst().orElse("");
    return first.length() > 160 ? first.substring(0, 160) + "..." : first;
  }

  /**
   * Throws unless every element of {@code x} is finite (one reduction: the maximum of |x| is NaN or infinite
   * otherwise).
   */
  static void requireFinite(NDArray x, String what) {
    float max;
    // In a scope of its own: |x| is as large as x (100 MB for a decoded 4K image) and would otherwise live to the end
    // of the caller's scope.
    try (NDScope scope = new NDScope()) {
      max = x.abs().max().toType(DataType.FLOAT32, false).getFloat();
    }
    if (!Float.isFinite(max)) {
      throw new TacoException(what + " holds NaN or infinite values: the weights are broken (non-finite results)");
    }
  }
}
