package ai.taco.core.weights;

import ai.taco.core.error.WeightsException;
import ai.taco.core.files.InputFiles;
import ai.taco.core.tensor.HostTensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crafted checkpoints that hung, overflowed the stack or threw untyped errors in the loaders. Each is built here,
 * loaded through {@link StateDict#load}, and must give one {@link WeightsException} line naming the file. The class
 * timeout only guards against a hang coming back (the bad inputs used to run for hours).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HostileCheckpointTest {
  @TempDir Path tmp;

  private static final Map<String, byte[]> ONE_FLOAT = Map.of("0", new byte[4]);

  private Path zip(String name, byte[] pickle, Map<String, byte[]> storages) throws IOException {
    Path p = tmp.resolve(name);
    Files.write(p, PickleWriter.torchZip(pickle, storages));
    return p;
  }

  private Path legacy(String name, byte[] pickle) throws IOException {
    Path p = tmp.resolve(name);
    Files.write(p, PickleWriter.legacy(pickle, ONE_FLOAT, Map.of("0", 4)));
    return p;
  }

  /** Loads, expecting one line naming the file and containing {@code expected}; at most {@code maxAlloc} bytes. */
  private static WeightsException refused(Path p, String expected, long maxAlloc) {
    long before = allocated();
    WeightsException e = assertThrows(WeightsException.class, () -> StateDict.load(p));
    long used = allocated() - before;
    String m = e.getMessage();
    assertTrue(m.startsWith(p.toString()), m);
    assertTrue(m.contains(expected), m);
    assertFalse(m.contains("\n"), m);
    assertTrue(used < maxAlloc, "allocated " + used + " bytes for " + p.getFileName());
    return e;
  }

  private static final long FEW_MB = 8L << 20;

  private static long allocated() {
    return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
  }

  /**
   * Pushes level {@code depth}, where memo slot i holds level i = {@code [level(i-1), level(i-1)]}: 2^depth paths
   * through depth+1 objects.
   */
  private static PickleWriter sharedNest(PickleWriter p, int depth) {
    p.op(']').put(0).op('0');
    for (int i = 1; i <= depth; i++) {
      p.op(']').mark().get(i - 1).get(i - 1).op('e').put(i).op('0');
    }
    return p.get(depth);
  }

  @Test
  void aDictKeyNestedEightyLevelsWithSharedListsIsRefusedAtOnce() throws IOException {
    // {'state_dict': {KEY: 1}}: HashMap.put used to hash KEY along its 2^80 paths.
    PickleWriter p = new PickleWriter().proto(2).op('}').mark().str("state_dict").op('}');
    sharedNest(p, 80).integer(1).op('s').op('u').stop();
    Path f = zip("nested-key.pth", p.bytes(), Map.of());
    assertTrue(Files.size(f) < 2000, "the crafted file is tiny: " + Files.size(f));
    refused(f, "dict key or set member is a container", FEW_MB);
  }

  @Test
  void setsOfContainersAreRefusedInEveryForm() throws IOException {
    // EMPTY_SET + ADDITEMS, FROZENSET, and builtins.set(list) through REDUCE (checked by the set constructor).
    PickleWriter additems = sharedNest(new PickleWriter().proto(4).op(0x8f).mark(), 60).op(0x90).stop();
    refused(zip("additems.pth", additems.bytes(), Map.of()), "set member is a container", FEW_MB);
    PickleWriter frozen = sharedNest(new PickleWriter().proto(4).mark(), 60).op(0x91).stop();
    refused(zip("frozenset.pth", frozen.bytes(), Map.of()), "set member is a container", FEW_MB);
    PickleWriter reduce = new PickleWriter().proto(2).global("builtins", "set").mark().op(']').mark();
    sharedNest(reduce, 60).op('e', 't', 'R').stop();
    refused(zip("set-reduce.pth", reduce.bytes(), Map.of()), "set member is a ArrayList", FEW_MB);
    // OrderedDict([[KEY, value]]) (the Python 2 form) puts its pairs itself.
    PickleWriter od = new PickleWriter().proto(2).global("collections", "OrderedDict").mark().op(']').mark()
        .op(']').mark();
    sharedNest(od, 60).integer(1).op('e', 'e', 't', 'R').stop();
    refused(zip("ordereddict.pth", od.bytes(), Map.of()), "dict key or set member is a ArrayList", FEW_MB);
  }

  @Test
  void aLegacyCheckpointWithSharedNestingLoadsInLinearTime() throws IOException {
    // The same 2^80-path list as a value: resolving tensors used to walk every path.
    PickleWriter p = new PickleWriter().proto(2).op('}').mark().str("w");
    p.legacyTensor("FloatStorage", "0", 1, 0, new long[] {1}, new long[] {1});
    p.str("nest");
    sharedNest(p, 80).op('u').stop();
    Map<String, HostTensor> sd = StateDict.load(legacy("nested.pth", p.bytes()));
    assertEquals(java.util.Set.of("w"), sd.keySet());
  }

  @Test
  void aListThatContainsItselfIsRefusedAsKeyAndAsValue() throws IOException {
    // l = []; l.append(l); {l: 1}  (262 bytes in the report; StackOverflowError in ArrayList.hashCode)
    PickleWriter key = new PickleWriter().proto(2).op('}').op(']').put(0).get(0).op('a').integer(1).op('s').stop();
    refused(zip("self-key.pth", key.bytes(), Map.of()), "dict key or set member is a container", FEW_MB);
    PickleWriter value = new PickleWriter().proto(2).op('}').str("l").op(']').put(0).get(0).op('a').op('s').stop();
    refused(zip("self-value.pth", value.bytes(), Map.of()), "contains itself", FEW_MB);
    refused(legacy("self-value-legacy.pth", value.bytes()), "contains itself", FEW_MB);
  }

  @Test
  void nestingThreeHundredThousandDeepIsRefused() throws IOException {
    int depth = 300_000;
    PickleWriter p = new PickleWriter().proto(2).op('}').str("deep");
    for (int i = 0; i < depth; i++) {
      p.op(']');
    }
    for (int i = 1; i < depth; i++) {
      p.op('a');
    }
    p.op('s').stop();
    refused(zip("deep.pth", p.bytes(), Map.of()), "nested deeper than " + PickleGraph.MAX_DEPTH, 64L << 20);
    refused(legacy("deep-legacy.pth", p.bytes()), "nested deeper than", 64L << 20);
  }

  @Test
  void negativeAndOversizedDeclaredLengthsAreRefusedBeforeAllocating() throws IOException {
    // LONG4 with length -5 (NegativeArraySizeException before).
    PickleWriter long4 = new PickleWriter().proto(2).op(0x8b).le32(-5).stop();
    refused(zip("long4-negative.pth", long4.bytes(), Map.of()), "negative integer length (-5)", FEW_MB);
    // BINUNICODE and LONG4 declaring 2^31-1 bytes in a tiny file (OutOfMemoryError before).
    PickleWriter uni = new PickleWriter().proto(2).op('X').le32(Integer.MAX_VALUE).op('a', 'b').stop();
    refused(zip("binunicode-huge.pth", uni.bytes(), Map.of()), "declares a 2147483647-byte value", FEW_MB);
    PickleWriter big = new PickleWriter().proto(2).op(0x8b).le32(Integer.MAX_VALUE).stop();
    refused(zip("long4-huge.pth", big.bytes(), Map.of()), "2147483647-byte integer", FEW_MB);
    PickleWriter bytes8 = new PickleWriter().proto(4).op(0x8e).le32(0).le32(0x40000000).stop();
    refused(zip("binbytes8-huge.pth", bytes8.bytes(), Map.of()), "declares a", FEW_MB);
    // The same in the legacy format, whose pickles are read from one buffer.
    refused(legacy("legacy-huge.pth", uni.bytes()), "declares a 2147483647-byte value", FEW_MB);
  }

  private static byte[] stateDictWith(long[] size, long[] stride) {
    PickleWriter p = new PickleWriter().proto(2).op('}').str("w");
    return p.tensor("FloatStorage", "0", 1, 0, size, stride).op('s').stop().bytes();
  }

  @Test
  void strideZeroViewsLargerThanTheirStorageAreRefused() throws IOException {
    // [2^62] with stride 0 on one float: the byte count overflowed (BufferOverflowException); [2^30] allocated 1 GB.
    refused(zip("stride0-2e62.pth", stateDictWith(new long[] {1L << 62}, new long[] {0}), ONE_FLOAT),
        "views a storage of only 1 elements", FEW_MB);
    refused(zip("stride0-2e30.pth", stateDictWith(new long[] {1L << 30}, new long[] {0}), ONE_FLOAT),
        "views a storage of only 1 elements", FEW_MB);
    refused(zip("stride-huge.pth", stateDictWith(new long[] {2, 1}, new long[] {Long.MAX_VALUE, 1}),
        Map.of("0", new byte[16])), "exceeds its storage", FEW_MB);
  }

  @Test
  void legacyStorageCountsBeyondTheFileAreRefused() throws IOException {
    PickleWriter p = new PickleWriter().proto(2).op('}').str("w");
    p.legacyTensor("FloatStorage", "0", 1, 0, new long[] {1}, new long[] {1}).op('s').stop();
    byte[] f = PickleWriter.legacy(p.bytes(), ONE_FLOAT, Map.of("0", 4));
    // The int64 element count sits 12 bytes from the end (count, then 4 data bytes): claim 2^61 elements.
    ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putLong(f.length - 12, 1L << 61);
    Path path = tmp.resolve("legacy-count.pth");
    Files.write(path, f);
    refused(path, "declares 2305843009213693952 elements", FEW_MB);
  }

  @Test
  void mismatchesAndUnreadableFilesAreReportedOnOneLine() {
    WeightsException e = assertThrows(WeightsException.class, () -> StateDict.check("a net",
        Map.of("a", new long[] {2}, "b", new long[] {3}), Map.of("a", HostTensor.ofFloats(new float[3], 3),
            "c", HostTensor.ofFloats(new float[1], 1)), k -> false));
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
    assertTrue(e.getMessage().contains("weights do not match a net: missing (1): b; unexpected (1): c; wrong shape"
        + " (1): a [3] (expected [2])"), e.getMessage());
    // AccessDeniedException's own message is just the path (what an unreadable file used to print).
    assertEquals("permission denied", InputFiles.reason(new java.nio.file.AccessDeniedException("/x")));
  }

  @Test
  void theSeedCheckpointsStillLoad() throws IOException {
    for (WeightsFuzz.Format format : WeightsFuzz.Format.values()) {
      Path p = tmp.resolve("seed-" + format);
      Files.write(p, WeightsFuzz.seed(format));
      Map<String, HostTensor> sd = StateDict.load(p);
      if (format == WeightsFuzz.Format.SAFETENSORS) {
        assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, sd.get("w").toFloatArray());
        assertArrayEquals(new float[] {1}, sd.get("b").toFloatArray());
        assertEquals(ai.djl.ndarray.types.DataType.FLOAT32, sd.get("d").dataType()); // float64 narrowed
        assertArrayEquals(new float[] {0.25f}, sd.get("d").toFloatArray());
      } else {
        assertArrayEquals(new float[] {0.5f, 3.5f, 1.5f, 4.5f, 2.5f, 5.5f}, sd.get("w_t").toFloatArray(), format + "");
        assertArrayEquals(new float[] {4.5f, 5.5f}, sd.get("tail").toFloatArray());
        assertArrayEquals(new float[] {1, 2, -3}, sd.get("h").toFloatArray());
        assertArrayEquals(new long[] {7, -1}, sd.get("n").toLongArray());
      }
    }
  }
}
