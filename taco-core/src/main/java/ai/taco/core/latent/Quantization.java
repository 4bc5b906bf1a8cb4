package ai.taco.core.latent;

/**
 * How an entropy model turns a continuous latent into its quantized stand-in during {@code forward}. Names follow
 * CompressAI's {@code EntropyModel.quantize} modes plus TACO's {@code quant='ste'}.
 */
public enum Quantization {
  /** Training with additive uniform noise U(-0.5, 0.5) (CompressAI's default training mode; means ignored). */
  NOISE,
  /**
   * Straight-through rounding as TACO's {@code ste_round}: {@code round(x - m) - (x - m).detach() + (x - m) + m}; the
   * value is the rounded one and the gradient is the identity.
   */
  STE,
  /** Evaluation: {@code round(x - m) + m}; round has zero gradient (the means still receive one). */
  DEQUANTIZE
}
