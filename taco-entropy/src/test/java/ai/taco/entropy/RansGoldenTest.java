package ai.taco.entropy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Byte-exact encoding and decoding against CompressAI 1.2.6's rANS coder (golden/entropy). */
class RansGoldenTest {
  private static final int CASES = 7;

  private record Case(String name, CdfTables tables, int[] symbols, int[] indexes, byte[] encoded, int[] decoded,
      int splitAt) {}

  private static Case load(GoldenTensors g, int c) {
    String p = "case" + c + ".";
    GoldenTensors.Tensor cdfs = g.get(p + "cdfs");
    int stride = (int) cdfs.shape()[1];
    CdfTables tables = CdfTables.fromPadded(cdfs.ints(), stride, g.get(p + "cdf_lengths").ints(),
        g.get(p + "offsets").ints());
    return new Case("case" + c, tables, g.get(p + "symbols").ints(), g.get(p + "indexes").ints(),
        g.get(p + "encoded").bytes(), g.get(p + "decoded").ints(), g.get(p + "split_at").ints()[0]);
  }

  private static GoldenTensors golden() {
    return GoldenTensors.read("entropy/rans_streams.safetensors");
  }

  @Test
  void encodesTheReferenceBytes() {
    GoldenTensors g = golden();
    for (int c = 0; c < CASES; c++) {
      Case k = load(g, c);
      assertArrayEquals(k.encoded, RansEncoder.encode(k.symbols, k.indexes, k.tables), k.name);
    }
  }

  @Test
  void decodesTheReferenceStreams() {
    GoldenTensors g = golden();
    for (int c = 0; c < CASES; c++) {
      Case k = load(g, c);
      assertArrayEquals(k.decoded, RansDecoder.decode(k.encoded, k.indexes, k.tables), k.name);
      assertArrayEquals(k.symbols, k.decoded, k.name + " (golden self-consistency)");
      RansDecoder d = new RansDecoder(k.encoded);
      d.decodeStream(k.indexes, k.tables);
      assertTrue(d.isComplete(), k.name + ": stream consumed exactly");
      // The same stream inside a larger buffer (a string in a container file).
      byte[] padded = new byte[k.encoded.length + 13];
      Arrays.fill(padded, (byte) 0x5A);
      System.arraycopy(k.encoded, 0, padded, 5, k.encoded.length);
      d.setStream(padded, 5, k.encoded.length);
      assertArrayEquals(k.decoded, d.decodeStream(k.indexes, k.tables), k.name + " (slice)");
      assertTrue(d.isComplete(), k.name + " (slice)");
    }
  }

  @Test
  void bufferedEncoderSplitAtSplitAtGivesTheSameBytes() {
    GoldenTensors g = golden();
    for (int c = 0; c < CASES; c++) {
      Case k = load(g, c);
      int h = k.splitAt;
      assertEquals(k.symbols.length / 3, h);
      RansEncoder enc = new RansEncoder();
      enc.encodeWithIndexes(Arrays.copyOfRange(k.symbols, 0, h), Arrays.copyOfRange(k.indexes, 0, h), k.tables);
      enc.encodeWithIndexes(k.symbols, h, k.indexes, h, k.symbols.length - h, k.tables);
      assertArrayEquals(k.encoded, enc.flush(), k.name);
      // Flushed encoder is empty again: the next flush is the empty stream.
      assertArrayEquals(new byte[] {0, 0, 0, (byte) 0x80, 0, 0, 0, 0}, enc.flush());
    }
  }

  @Test
  void streamingDecodeInTwoCallsGivesTheSymbols() {
    GoldenTensors g = golden();
    for (int c = 0; c < CASES; c++) {
      Case k = load(g, c);
      int h = k.splitAt;
      RansDecoder d = new RansDecoder();
      d.setStream(k.encoded);
      int[] first = d.decodeStream(Arrays.copyOfRange(k.indexes, 0, h), k.tables);
      int[] out = new int[k.indexes.length + 3];
      d.decodeStream(k.indexes, h, k.indexes.length - h, k.tables, out, 3);
      int[] all = new int[k.indexes.length];
      System.arraycopy(first, 0, all, 0, h);
      System.arraycopy(out, 3, all, h, k.indexes.length - h);
      assertArrayEquals(k.symbols, all, k.name);
      assertTrue(d.isComplete(), k.name);
    }
  }

  @Test
  void emptyAndSingleSymbolStreams() {
    GoldenTensors g = golden();
    Case empty = load(g, 0);
    assertArrayEquals(new byte[] {0, 0, 0, (byte) 0x80, 0, 0, 0, 0}, empty.encoded);
    assertArrayEquals(empty.encoded, RansEncoder.encode(new int[0], new int[0], empty.tables));
    assertEquals(0, RansDecoder.decode(empty.encoded, new int[0], empty.tables).length);
    Case single = load(g, 1);
    assertEquals(1, single.symbols.length);
    assertArrayEquals(single.encoded, RansEncoder.encode(single.symbols, single.indexes, single.tables));
  }

  /** The tables and streams of a real EntropyBottleneck (z) give the bytes of {@code eb.compress}. */
  @Test
  void entropyBottleneckStringsMatch() {
    GoldenTensors g = GoldenTensors.read("entropy/entropy_bottleneck.safetensors");
    GoldenTensors.Tensor q = g.get("state._quantized_cdf");
    CdfTables tables = CdfTables.fromPadded(q.ints(), (int) q.shape()[1], g.get("state._cdf_length").ints(),
        g.get("state._offset").ints());
    int[] symbols = g.get("compress_symbols").ints();
    int[] indexes = g.get("compress_indexes").ints();
    byte[] string0 = g.get("string0").bytes();
    assertArrayEquals(string0, RansEncoder.encode(symbols, indexes, tables));
    assertArrayEquals(symbols, RansDecoder.decode(string0, indexes, tables));

    // z2: two batch items, one string each; symbols = round_half_even(z2 - median) in float32, index = channel.
    float[] z2 = g.get("z2").floats();
    float[] medians = g.get("medians").floats();
    float[] z2hat = g.get("z2_hat").floats();
    int channels = 32;
    int plane = 3 * 5;
    for (int b = 0; b < 2; b++) {
      int[] sym = new int[channels * plane];
      int[] idx = new int[channels * plane];
      for (int ch = 0; ch < channels; ch++) {
        for (int k = 0; k < plane; k++) {
          int i = ch * plane + k;
          sym[i] = (int) Math.rint(z2[b * channels * plane + i] - medians[ch]);
          idx[i] = ch;
        }
      }
      byte[] expected = g.get("z2_string" + b).bytes();
      assertArrayEquals(expected, RansEncoder.encode(sym, idx, tables), "z2 item " + b);
      int[] dec = RansDecoder.decode(expected, idx, tables);
      for (int i = 0; i < dec.length; i++) {
        int ch = i / plane;
        assertEquals(z2hat[b * channels * plane + i], dec[i] + medians[ch], 0f, "z2_hat " + b + "/" + i);
      }
    }
  }

  /** The 64 Gaussian tables of TACO's scale table give the bytes of {@code gc.compress}. */
  @Test
  void gaussianConditionalStringMatches() {
    GoldenTensors g = GoldenTensors.read("entropy/gaussian_conditional.safetensors");
    GoldenTensors.Tensor q = g.get("state._quantized_cdf");
    CdfTables tables = CdfTables.fromPadded(q.ints(), (int) q.shape()[1], g.get("state._cdf_length").ints(),
        g.get("state._offset").ints());
    assertEquals(64, tables.size());
    assertEquals(3133, tables.cdfLength(63));
    int[] symbols = g.get("symbols").ints();
    int[] indexes = g.get("indexes").ints();
    byte[] string0 = g.get("string0").bytes();
    assertArrayEquals(string0, RansEncoder.encode(symbols, indexes, tables));
    assertArrayEquals(symbols, RansDecoder.decode(string0, indexes, tables));
  }
}
