package ai.taco.entropy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Corrupt input never hangs or crashes the decoder: every call on a truncated, bit-flipped, extended or random
 * stream, with valid or invalid indexes, and every bad table, ends in values or an {@link EntropyCodingException}.
 * The timeouts are hang guards, far above the expected run time, not measurements.
 */
class RansFuzzTest {
  private static final int STREAM_CASES = 120_000;
  private static final int TABLE_CASES = 20_000;
  private static final Duration HANG_GUARD = Duration.ofSeconds(40);

  @Test
  void corruptStreamsEndInValuesOrTypedErrors() {
    assertTimeoutPreemptively(HANG_GUARD, () -> {
      SplittableRandom rnd = new SplittableRandom(424242);
      CdfTables[] tableSets = new CdfTables[6];
      int[][] idx = new int[6][];
      byte[][] streams = new byte[6][];
      for (int k = 0; k < tableSets.length; k++) {
        tableSets[k] = RandomTables.tables(rnd, 1 + rnd.nextInt(6), k % 2 == 0 ? 12 : 200);
        idx[k] = RandomTables.indexes(rnd, 50 + rnd.nextInt(200), tableSets[k].size());
        streams[k] = RansEncoder.encode(RandomTables.symbols(rnd, idx[k], tableSets[k]), idx[k], tableSets[k]);
      }
      // An all-bypass table: every decoded symbol reads nibbles (the worst case for bypass loops).
      tableSets[5] = CdfTables.of(new int[][] {{0, 65536}, {0, 1, 65536}}, new int[2]);
      idx[5] = RandomTables.indexes(rnd, 300, 2);
      streams[5] = RansEncoder.encode(RandomTables.symbols(rnd, idx[5], tableSets[5]), idx[5], tableSets[5]);

      int values = 0;
      int errors = 0;
      for (int c = 0; c < STREAM_CASES; c++) {
        int k = rnd.nextInt(tableSets.length);
        byte[] s = mutate(rnd, streams[k]);
        int[] indexes = idx[k];
        if (rnd.nextInt(50) == 0) {
          indexes = indexes.clone();
          indexes[rnd.nextInt(indexes.length)] = rnd.nextInt(40) - 20; // possibly out of range
        }
        if (rnd.nextInt(10) == 0) {
          indexes = RandomTables.indexes(rnd, rnd.nextInt(5000), tableSets[k].size()); // more symbols than coded
        }
        try {
          if (rnd.nextBoolean()) {
            int[] out = RansDecoder.decode(s, indexes, tableSets[k]);
            assertEquals(indexes.length, out.length);
          } else {
            RansDecoder d = new RansDecoder(s);
            int h = rnd.nextInt(indexes.length + 1);
            d.decodeStream(Arrays.copyOfRange(indexes, 0, h), tableSets[k]);
            d.decodeStream(Arrays.copyOfRange(indexes, h, indexes.length), tableSets[k]);
          }
          values++;
        } catch (EntropyCodingException e) {
          assertTrue(e.getMessage() != null && !e.getMessage().isEmpty());
          errors++;
        } catch (Throwable t) {
          fail("case " + c + ": " + t, t);
        }
      }
      assertEquals(STREAM_CASES, values + errors);
      assertTrue(errors > STREAM_CASES / 20, "the mutations do trigger the checks: " + errors);
      assertTrue(values > STREAM_CASES / 20, "and often decode to (garbage) values: " + values);
    });
  }

  private static byte[] mutate(SplittableRandom rnd, byte[] valid) {
    switch (rnd.nextInt(6)) {
      case 0: // truncated
        return Arrays.copyOf(valid, rnd.nextInt(valid.length + 1));
      case 1: { // bit flips
        byte[] s = valid.clone();
        for (int f = 1 + rnd.nextInt(8); f > 0; f--) {
          int bit = rnd.nextInt(s.length * 8);
          s[bit >> 3] ^= (byte) (1 << (bit & 7));
        }
        return s;
      }
      case 2: { // random bytes
        byte[] s = new byte[rnd.nextInt(300)];
        rnd.nextBytes(s);
        return s;
      }
      case 3: { // constant fill (0x00 keeps the state tiny, 0xFF asks for long bypasses)
        byte[] s = new byte[rnd.nextInt(200)];
        Arrays.fill(s, rnd.nextBoolean() ? (byte) 0xFF : (byte) 0);
        return s;
      }
      case 4: { // extended with garbage, not a whole number of words
        byte[] s = Arrays.copyOf(valid, valid.length + 1 + rnd.nextInt(9));
        for (int i = valid.length; i < s.length; i++) {
          s[i] = (byte) rnd.nextInt(256);
        }
        return s;
      }
      default: { // truncated and flipped
        byte[] s = Arrays.copyOf(valid, Math.max(0, valid.length - 1 - rnd.nextInt(12)));
        if (s.length > 0) {
          s[rnd.nextInt(s.length)] ^= (byte) (1 + rnd.nextInt(255));
        }
        return s;
      }
    }
  }

  @Test
  void badTablesAreTypedErrors() {
    assertTimeoutPreemptively(HANG_GUARD, () -> {
      SplittableRandom rnd = new SplittableRandom(5150);
      int valid = 0;
      for (int c = 0; c < TABLE_CASES; c++) {
        int n = rnd.nextInt(4);
        int stride = rnd.nextInt(8);
        int[] flat = new int[n * stride + (rnd.nextInt(20) == 0 ? 1 : 0)];
        for (int i = 0; i < flat.length; i++) {
          int r = rnd.nextInt(4);
          flat[i] = r == 0 ? 0 : r == 1 ? 65536 : r == 2 ? rnd.nextInt(65537) : rnd.nextInt();
        }
        int[] lengths = new int[n + (rnd.nextInt(20) == 0 ? 1 : 0)];
        for (int i = 0; i < lengths.length; i++) {
          lengths[i] = rnd.nextInt(12) - 2;
        }
        int[] offsets = new int[n];
        for (int i = 0; i < n; i++) {
          offsets[i] = rnd.nextInt(4) == 0 ? rnd.nextInt() : -rnd.nextInt(10);
        }
        try {
          CdfTables t = CdfTables.fromPadded(flat, stride, lengths, offsets);
          for (int k = 0; k < t.size(); k++) {
            QuantizedCdf.validate(t.cdf(k)); // whatever was accepted is a valid table
          }
          valid++;
        } catch (EntropyCodingException e) {
          assertTrue(e.getMessage().startsWith("CDF"), e.getMessage());
        } catch (Throwable t) {
          fail("case " + c + ": " + t, t);
        }
      }
      assertTrue(valid > 0 && valid < TABLE_CASES, "both outcomes occur: " + valid);
    });
  }
}
