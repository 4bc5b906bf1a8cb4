package ai.taco.entropy;

/**
 * Constants of the rANS coder, fixed by the bitstream format of CompressAI 1.2.6
 * ({@code compressai/cpp_exts/rans/rans_interface.cpp} and ryg_rans' {@code rans64.h}). Changing any of them breaks
 * compatibility with files written by the official TACO code.
 */
final class Rans {
  private Rans() {}

  /** Bits of probability resolution: every CDF runs from 0 to {@code 1 << PRECISION} ({@code precision = 16}). */
  static final int PRECISION = 16;

  /** {@code 1 << PRECISION}: the last entry of every CDF. */
  static final int TOTAL = 1 << PRECISION;

  /** Bits per raw nibble of an out-of-range value ({@code bypass_precision = 4}). */
  static final int BYPASS_PRECISION = 4;

  /** Largest nibble, also the "length continues" marker ({@code max_bypass_val = 15}). */
  static final int MAX_BYPASS_VAL = (1 << BYPASS_PRECISION) - 1;

  /** Lower bound of the normalized state interval [L, L * 2^32) ({@code RANS64_L = 1 << 31}). */
  static final long RANS_L = 1L << 31;

  /** log2(RANS_L): the state is below L exactly when {@code (x >>> L_BITS) == 0}. */
  static final int L_BITS = 31;

  /**
   * The encoder renormalizes before coding a symbol of frequency f when x >= ((L >> PRECISION) << 32) * f, i.e. when
   * {@code (x >>> ENC_SHIFT) >= f} (the product is a multiple of 2^ENC_SHIFT, so the shifted test is exact and never
   * overflows, even for f = 2^16 where the product is 2^63).
   */
  static final int ENC_SHIFT = L_BITS - PRECISION + 32;

  /**
   * A bypass nibble is coded as a symbol of frequency 2^(16-4) ({@code Rans64EncPutBits}), so the encoder
   * renormalizes when x >= 2^(ENC_SHIFT + 12) = 2^59.
   */
  static final int ENC_BYPASS_SHIFT = ENC_SHIFT + PRECISION - BYPASS_PRECISION;

  /**
   * Most raw nibbles of one bypass-coded value: raw values are 32-bit, so 8 nibbles. The reference encoder loops
   * forever (undefined 32-bit shift) for raw values of 2^28 or more and its decoder misreads raw values of 2^31 or
   * more; this coder writes 8 nibbles for raw values in [2^28, 2^31), which the reference decoder reads correctly,
   * and rejects larger ones.
   */
  static final int MAX_BYPASS_NIBBLES = 32 / BYPASS_PRECISION;

  /** Raw bypass values must be below this so that the reference decoder (signed 32-bit) reads them back. */
  static final long MAX_RAW_EXCLUSIVE = 1L << 31;
}
