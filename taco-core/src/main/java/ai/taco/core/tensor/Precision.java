package ai.taco.core.tensor;

/**
 * The arithmetic of the two image transforms, gA (with its text adapter) and gS ({@code
 * TacoCodec.Builder.optPrecision}). Everything else (hA, hS, the context model and entropy parameters) always runs in
 * float32, because the decoder must recompute the entropy parameters bit for bit: a file coded with reduced-precision
 * gA decodes with any decoder, and a reduced-precision gS gives nearly the pixels of the float32 one.
 *
 * <p>Reduced precision uses libtorch's automatic mixed precision (autocast) for the convolutions only, switched on
 * for the calling thread for the duration of each one; inputs are cast inside libtorch, and the maps between
 * blocks, residual sums, the text adapters and everything outside gA/gS stay float32 (docs/performance.md,
 * "Reduced precision").
 */
public enum Precision {
  /** float32 throughout: the bitstreams of the official code. The default. */
  FP32,
  /**
   * bfloat16 convolutions (float32 accumulation inside oneDNN). Fast on CPUs with native bfloat16
   * instructions (x86 {@code avx512_bf16} or {@code amx_bf16}); elsewhere libtorch emulates it, correctly but slowly.
   */
  BF16,
  /** float16 convolutions: meant for CUDA devices (on a CPU it is emulated and slow). */
  FP16;

  /** The name used on the command line: {@code fp32}, {@code bf16}, {@code fp16}. */
  public String id() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /** Parses {@link #id()} (case-insensitive). */
  public static Precision parse(String s) {
    for (Precision p : values()) {
      if (p.id().equalsIgnoreCase(s.trim())) {
        return p;
      }
    }
    throw new IllegalArgumentException("unknown precision '" + s + "' (expected fp32, bf16 or fp16)");
  }
}
