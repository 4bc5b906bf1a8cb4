package ai.taco.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.taco.core.bitstream.CodedImage;
import ai.taco.core.bitstream.TacoFile;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Long runs must not grow native memory: every TacoCodec call works in its own manager (a sub-manager of the codec's,
 * closed when the call returns) and scope, so the arrays owned by the codec (its parameters) stay the same in number,
 * no sub-manager outlives its call, and the process's resident memory levels off after warm-up.
 */
class NativeMemoryTest {
  /** Calls measured after warm-up (each is a 64x64 compress + decompress; ~0.5-2 s on 2 busy cores). */
  private static final int RUNS = 12;
  /** Calls before the first measurement: libtorch's allocator and thread pools reach their working size. */
  private static final int WARMUP = 4;
  /**
   * Allowed RSS growth over {@link #RUNS} calls, a backstop for leaks DJL cannot count (arrays on the untracked system
   * manager). One call's activations are about 5 MB (18 gA + 15 gS layers of at most 32x32x32 floats, plus the context
   * models), so leaking them would add ~60 MB here. Measured (2 cores, 100 calls in a plain JVM): RSS stays within
   * 12 MB of its post-warm-up value and is flat from call 30 on (glibc arenas and the JIT settling).
   */
  private static final long MAX_RSS_GROWTH_BYTES = 40L << 20;

  @Test
  void repeatedCompressAndDecompressKeepNativeMemoryFlat() throws Exception {
    Map<String, HostTensor> img0 = Golden.tensors("taco-small/img0_64x64.safetensors");
    HostTensor x = img0.get("x");
    HostTensor text = img0.get("text_embeddings");
    try (TacoCodec codec =
        TacoCodec.builder().setWeights(Golden.tacoSmallWeights()).optConfig(TacoConfig.SMALL)
            .build()) {
      NDManager owned = ownedManager(codec);
      byte[] first = null;
      for (int i = 0; i < WARMUP; i++) {
        first = roundTrip(codec, x, text);
      }
      int arrays = owned.getManagedArrays().size();
      int resources = resources(owned).size();
      System.gc();
      long rss = rssBytes();
      for (int i = 0; i < RUNS; i++) {
        assertArrayEquals(first, roundTrip(codec, x, text), "call " + i + " gives the same file");
      }
      System.gc();
      long growth = rssBytes() - rss;
      assertEquals(arrays, owned.getManagedArrays().size(), "arrays owned by the codec after " + RUNS + " calls");
      assertEquals(resources, resources(owned).size(), "resources attached to the codec's manager after the calls");
      assertTrue(growth < MAX_RSS_GROWTH_BYTES,
          "resident memory grew by " + (growth >> 20) + " MB over " + RUNS + " compress+decompress calls");
    }
  }

  /**
   * A call's arrays live in a sub-manager of the codec's manager: while an encode or decode runs, one manager (the
   * call's) is attached to the codec's manager, and none once it has returned. (Arrays computed from the parameters
   * are attached to the codec's manager too, by DJL's rule that a result joins its first operand's manager; the call's
   * NDScope frees them, as {@link #repeatedCompressAndDecompressKeepNativeMemoryFlat} checks.)
   */
  @Test
  void eachCallWorksInASubManagerOfTheCodecs() throws Exception {
    Map<String, HostTensor> img0 = Golden.tensors("taco-small/img0_64x64.safetensors");
    try (TacoCodec codec =
        TacoCodec.builder().setWeights(Golden.tacoSmallWeights()).optConfig(TacoConfig.SMALL).build()) {
      NDManager owned = ownedManager(codec);
      Map<String, AutoCloseable> attached = resources(owned);
      int before = managers(attached);
      List<Integer> during = new ArrayList<>();
      StageListener probe = stage -> during.add(managers(attached));
      CodedImage f = codec.compress(img0.get("x"), img0.get("text_embeddings"), EncodeOptions.DEFAULT.withListener(probe));
      int encodeStages = during.size();
      codec.decompress(f, DecodeOptions.DEFAULT.withListener(probe));
      assertTrue(encodeStages > 0 && during.size() > encodeStages, "stages reported: " + during);
      for (int n : during) {
        assertEquals(before + 1, n, "managers attached to the codec's during a call: " + during);
      }
      assertEquals(before, managers(attached), "managers attached to the codec's after the calls");
    }
  }

  private static int managers(Map<String, AutoCloseable> resources) {
    return (int) resources.values().stream().filter(r -> r instanceof NDManager).count();
  }

  /** The resources (arrays and sub-managers) attached to a DJL manager (protected: read by reflection, tests only). */
  @SuppressWarnings("unchecked")
  static Map<String, AutoCloseable> resources(NDManager m) throws ReflectiveOperationException {
    Field f = ai.djl.ndarray.BaseNDManager.class.getDeclaredField("resources");
    f.setAccessible(true);
    return (Map<String, AutoCloseable>) f.get(m);
  }

  private static byte[] roundTrip(TacoCodec codec, HostTensor x, HostTensor text) {
    TacoFile f = codec.compress(x, text);
    HostTensor back = codec.decompress(f);
    assertArrayEquals(new long[] {1, 3, 64, 64}, back.shape());
    return f.toBytes();
  }

  /** The manager holding the codec's parameters (private: read by reflection, for this test only). */
  static NDManager ownedManager(TacoCodec codec) throws ReflectiveOperationException {
    Field f = TacoCodec.class.getDeclaredField("manager");
    f.setAccessible(true);
    return (NDManager) f.get(codec);
  }

  /** VmRSS of this process from /proc/self/status (Linux), in bytes. */
  static long rssBytes() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    throw new IllegalStateException("no VmRSS in /proc/self/status");
  }
}
