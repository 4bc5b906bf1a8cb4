package ai.taco.entropy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Randomized round trips (seeded): every encoded stream decodes to its symbols, however it is split. */
class RansRoundTripTest {

  @Test
  void randomTablesAndSymbolsRoundTrip() {
    SplittableRandom rnd = new SplittableRandom(20240611);
    int[] lengths = {0, 1, 2, 3, 7, 100, 1000, 5000, 100_000};
    for (int trial = 0; trial < 60; trial++) {
      CdfTables tables = RandomTables.tables(rnd, 1 + rnd.nextInt(12), trial % 3 == 0 ? 400 : 40);
      int n = trial < lengths.length ? lengths[trial] : rnd.nextInt(3000);
      int[] indexes = RandomTables.indexes(rnd, n, tables.size());
      int[] symbols = RandomTables.symbols(rnd, indexes, tables);
      byte[] bytes = RansEncoder.encode(symbols, indexes, tables);
      assertEquals(0, bytes.length % 4, "whole 32-bit words");
      assertTrue(bytes.length >= 8);
      RansDecoder d = new RansDecoder(bytes);
      assertArrayEquals(symbols, d.decodeStream(indexes, tables), "trial " + trial + ", n=" + n);
      assertTrue(d.isComplete(), "trial " + trial);
    }
  }

  @Test
  void anySplitOfEncoderCallsAndDecoderCallsGivesTheSameStream() {
    SplittableRandom rnd = new SplittableRandom(7);
    for (int trial = 0; trial < 30; trial++) {
      CdfTables tables = RandomTables.tables(rnd, 1 + rnd.nextInt(8), 60);
      int n = rnd.nextInt(4000);
      int[] indexes = RandomTables.indexes(rnd, n, tables.size());
      int[] symbols = RandomTables.symbols(rnd, indexes, tables);
      byte[] whole = RansEncoder.encode(symbols, indexes, tables);

      RansEncoder enc = new RansEncoder();
      int at = 0;
      while (at < n) {
        int len = Math.min(n - at, rnd.nextInt(600));
        enc.encodeWithIndexes(symbols, at, indexes, at, len, tables);
        at += len;
      }
      assertArrayEquals(whole, enc.flush(), "trial " + trial);

      RansDecoder dec = new RansDecoder(whole);
      int[] out = new int[n];
      at = 0;
      while (at < n) {
        int len = Math.min(n - at, rnd.nextInt(600));
        dec.decodeStream(indexes, at, len, tables, out, at);
        at += len;
      }
      assertArrayEquals(symbols, out, "trial " + trial);
      assertTrue(dec.isComplete());
    }
  }

  @Test
  void differentTablesPerBufferedCall() {
    // TACO codes each latent slice with its own call; the tables may change between calls.
    SplittableRandom rnd = new SplittableRandom(99);
    CdfTables a = RandomTables.tables(rnd, 3, 30);
    CdfTables b = RandomTables.tables(rnd, 5, 300);
    int[] ia = RandomTables.indexes(rnd, 777, a.size());
    int[] sa = RandomTables.symbols(rnd, ia, a);
    int[] ib = RandomTables.indexes(rnd, 555, b.size());
    int[] sb = RandomTables.symbols(rnd, ib, b);
    RansEncoder enc = new RansEncoder();
    enc.encodeWithIndexes(sa, ia, a);
    enc.encodeWithIndexes(sb, ib, b);
    byte[] bytes = enc.flush();
    RansDecoder dec = new RansDecoder(bytes);
    assertArrayEquals(sa, dec.decodeStream(ia, a));
    assertArrayEquals(sb, dec.decodeStream(ib, b));
    assertTrue(dec.isComplete());
  }

  @Test
  void singleSlotTablesAndEightNibbleValuesRoundTrip() {
    // CDF [0, 65536]: every value is bypass-coded behind a frequency-65536 escape (the reference encoder divides
    // by zero here: it stores the frequency in 16 bits). Raw values >= 2^28 take 8 nibbles.
    CdfTables t = CdfTables.of(new int[][] {{0, 65536}, {0, 1, 65536}}, new int[] {0, -3});
    int[] symbols = {0, 1, -1, 5, (1 << 28), -(1 << 29), (1 << 30) - 1, -(1 << 30), 1 << 29, -2, -3, -4, (1 << 30) - 3};
    int[] indexes = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1};
    byte[] bytes = RansEncoder.encode(symbols, indexes, t);
    assertArrayEquals(symbols, RansDecoder.decode(bytes, indexes, t));
  }

  @Test
  void valuesBeyondTheBypassRangeAreRejectedAndNothingStaysBuffered() {
    CdfTables t = CdfTables.of(new int[][] {{0, 30000, 65536}}, new int[] {-1});
    // Relative value v = s + 1; escape slot 1; bypass raw = 2(v-1) or -2v-1 must stay below 2^31.
    int[] ok = {(1 << 30) - 1 + 1 - 1, -(1 << 30) - 1};
    assertArrayEquals(ok, RansDecoder.decode(RansEncoder.encode(ok, new int[2], t), new int[2], t));
    RansEncoder enc = new RansEncoder();
    enc.encodeWithIndexes(new int[] {0, 0}, new int[2], t);
    int before = enc.bufferedSteps();
    for (int bad : new int[] {1 << 30, -(1 << 30) - 2, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
      EntropyCodingException e = assertThrows(EntropyCodingException.class,
          () -> enc.encodeWithIndexes(new int[] {0, bad}, new int[2], t));
      assertTrue(e.getMessage().contains("position 1"), e.getMessage());
      assertEquals(before, enc.bufferedSteps());
    }
    assertArrayEquals(RansEncoder.encode(new int[] {0, 0}, new int[2], t), enc.flush());
  }

  @Test
  void badIndexesAndLengthsAreTypedErrors() {
    CdfTables t = CdfTables.of(new int[][] {{0, 30000, 65536}}, new int[] {0});
    assertTrue(assertThrows(EntropyCodingException.class,
        () -> RansEncoder.encode(new int[] {0}, new int[] {1}, t)).getMessage().contains("CDF index 1"));
    assertThrows(EntropyCodingException.class, () -> RansEncoder.encode(new int[] {0}, new int[] {-1}, t));
    assertThrows(EntropyCodingException.class, () -> RansEncoder.encode(new int[] {0, 1}, new int[] {0}, t));
    byte[] bytes = RansEncoder.encode(new int[] {0, 0}, new int[2], t);
    assertThrows(EntropyCodingException.class, () -> RansDecoder.decode(bytes, new int[] {0, 2}, t));
    RansDecoder d = new RansDecoder(bytes);
    assertThrows(EntropyCodingException.class, () -> d.decodeStream(new int[] {Integer.MIN_VALUE}, t));
    // A failed decoder refuses to go on with a half-updated state.
    assertTrue(assertThrows(EntropyCodingException.class, () -> d.decodeStream(new int[] {0}, t))
        .getMessage().contains("unusable"));
    d.setStream(bytes);
    assertArrayEquals(new int[] {0, 0}, d.decodeStream(new int[2], t));
    assertThrows(EntropyCodingException.class, () -> new RansDecoder().decodeStream(new int[0], t));
    assertThrows(IndexOutOfBoundsException.class,
        () -> new RansDecoder(bytes).decodeStream(new int[2], 1, 2, t, new int[2], 0));
  }

  @Test
  void shortAndTruncatedStreamsAreTypedErrors() {
    CdfTables t = CdfTables.of(new int[][] {{0, 100, 65536}}, new int[] {0});
    for (int len = 0; len < 8; len++) {
      byte[] s = new byte[len];
      EntropyCodingException e = assertThrows(EntropyCodingException.class, () -> new RansDecoder(s));
      assertTrue(e.getMessage().contains("shorter"), e.getMessage());
    }
    int[] symbols = new int[2000]; // value 0 has probability 100/65536: about 9.4 bits each
    int[] idx = new int[2000];
    byte[] bytes = RansEncoder.encode(symbols, idx, t);
    byte[] cut = Arrays.copyOf(bytes, bytes.length / 2);
    EntropyCodingException e = assertThrows(EntropyCodingException.class, () -> RansDecoder.decode(cut, idx, t));
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());
  }

  @Test
  void allFifteenBypassLengthIsRejected() {
    // State 0xFF..: the first symbol of table {0, 1, 65536} with cum 0xFFFF is the escape slot, then nibble 15
    // (the length continuation marker), which no valid encoder writes.
    CdfTables t = CdfTables.of(new int[][] {{0, 1, 65536}}, new int[] {0});
    byte[] ff = new byte[64];
    Arrays.fill(ff, (byte) 0xFF);
    EntropyCodingException e =
        assertThrows(EntropyCodingException.class, () -> RansDecoder.decode(ff, new int[1000], t));
    assertTrue(e.getMessage().contains("bypass length"), e.getMessage());
  }
}
