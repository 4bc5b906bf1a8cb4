package ai.taco.core;

import ai.taco.core.error.InsufficientMemoryException;
import ai.taco.core.error.TacoException;
import ai.taco.core.bitstream.ScaleTable;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.bitstream.CompressAiFile;
import ai.taco.core.bitstream.TacoFile;
import ai.taco.core.error.ImageException;
import ai.taco.core.error.WeightsException;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.core.weights.StateDict;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The codec's resource and value guards: memory budget, native allocation failures, non-finite weights and outputs,
 * absurd inputs, and close() during calls. The timeout only guards against a hang.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CodecHardeningTest {
  private static String oneLine(Throwable e) {
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
    return e.getMessage();
  }

  @Test
  void estimatesFollowTheMeasuredMemoryPerPixel() {
    // Full model on 1 MP: 5 B x 192 channels + 48 B of image buffers = 1008 B/px ~ 0.94 GiB (measured 0.95 GiB/MP).
    assertEquals(1008.0 * 1e6, MemoryBudget.estimate(TacoConfig.FULL, 1e6), 1);
    // Tiled (default tiles: gS 1024 pixels, gA 1536 counted as 1024): the transforms' share stops at a tile and its
    // halo (1.6 x 1024^2 px); what still grows per pixel is one float32 RGB host image (12 B), gA's 1/8 map (192
    // channels at 1/64: 12 B) and the latent buffers (y, ŷ, hyper parameters, rANS steps: 25 B for M=320), 49 B in
    // all. A 100 MP image is then estimated at 6.5 GB, in line with its measured peaks (docs/performance.md), and
    // fits a 16 GiB machine's budget.
    double tile = 1.6 * 1024 * 1024;
    assertEquals(tile * 5 * 192 + 100e6 * 49, MemoryBudget.estimate(TacoConfig.FULL, 100e6, Tiling.DEFAULT), 1);
    assertTrue(MemoryBudget.estimate(TacoConfig.FULL, 100e6, Tiling.DEFAULT) < 13.0 * (1L << 30));
    // A gA tile larger than 1.5 gS tiles sets the tile share: 3072-pixel gA tiles count as 2048.
    assertEquals(1.6 * 2048 * 2048 * 5 * 192 + 100e6 * 49,
        MemoryBudget.estimate(TacoConfig.FULL, 100e6, new Tiling(3072, 512, 1024)), 1);
    // An image within one tile costs what the untiled estimate says.
    assertEquals(MemoryBudget.estimate(TacoConfig.FULL, 768 * 512),
        MemoryBudget.estimate(TacoConfig.FULL, 768 * 512, Tiling.DEFAULT), 1);
    assertEquals(64.0 * 128, MemoryBudget.paddedPixels(1, 65, 64));
    assertEquals(1L << 33, MemoryBudget.parseBytes("8g"));
    assertEquals(512L << 20, MemoryBudget.parseBytes(" 512M "));
    assertEquals(1234, MemoryBudget.parseBytes("1234"));
    for (String bad : new String[] {"", "-1g", "0", "12x", "99999999999t"}) {
      assertThrows(TacoException.class, () -> MemoryBudget.parseBytes(bad), bad);
    }
  }

  /**
   * One budget per JVM: a call of one codec sees the reservation of a call of another codec running at the same time
   * (the inner call is made from the outer one's stage listener, so both are in flight, deterministically).
   */
  @Test
  void everyCodecReservesFromTheJvmsOneBudget() {
    assertTrue(MemoryBudget.shared() == MemoryBudget.shared());
    HostTensor image = image(64, 64, 0.5f);
    double one = MemoryBudget.estimate(TacoConfig.TINY, 64 * 64);
    long[] seen = new long[2];
    try (TacoCodec a = TacoCodec.builder().setRandomWeights(1).optConfig(TacoConfig.TINY).optTiling(Tiling.NONE).build();
        TacoCodec b = TacoCodec.builder().setRandomWeights(2).optConfig(TacoConfig.TINY).optTiling(Tiling.NONE).build()) {
      long before = MemoryBudget.shared().reservedBytes();
      StageListener inner = stage -> seen[1] = Math.max(seen[1], MemoryBudget.shared().reservedBytes() - before);
      boolean[] nested = {false};
      StageListener outer = stage -> {
        seen[0] = Math.max(seen[0], MemoryBudget.shared().reservedBytes() - before);
        if (!nested[0]) {
          nested[0] = true;
          b.compress(image, caption(), EncodeOptions.DEFAULT.withListener(inner));
        }
      };
      a.compress(image, caption(), EncodeOptions.DEFAULT.withListener(outer));
      assertEquals(before, MemoryBudget.shared().reservedBytes(), "both reservations released");
    }
    assertEquals((long) Math.ceil(one), seen[0]);
    assertEquals(2 * (long) Math.ceil(one), seen[1]);
  }

  @Test
  void reservationsBeyondTheBudgetAreRefusedAndConcurrentOnesWait() throws Exception {
    MemoryBudget b = new MemoryBudget(100L << 20);
    InsufficientMemoryException e =
        assertThrows(InsufficientMemoryException.class, () -> b.reserve(101L << 20, "decoding a 9x9 image"));
    assertTrue(oneLine(e).contains("decoding a 9x9 image needs about 101 MiB") && e.getMessage().contains("100 MiB"),
        e.getMessage());
    MemoryBudget.Reservation first = b.reserve(60L << 20, "a");
    CountDownLatch started = new CountDownLatch(1);
    AtomicBoolean acquired = new AtomicBoolean();
    Thread second = new Thread(() -> {
      started.countDown();
      try (MemoryBudget.Reservation r = b.reserve(60L << 20, "b")) {
        acquired.set(true);
      }
    });
    second.start();
    started.await();
    // The second cannot fit while the first is held (it is either waiting or not yet reserving).
    assertFalse(acquired.get());
    assertEquals(60L << 20, b.reservedBytes());
    first.close();
    second.join();
    assertTrue(acquired.get());
    assertEquals(0, b.reservedBytes());
  }

  @Test
  void aFailedNativeAllocationIsOneTypedLine() {
    try (NDManager m = NDManager.newBaseManager()) {
      // 2^42 floats = 16 TiB: libtorch refuses at once ("[enforce fail at alloc_cpu.cpp:119] ...").
      InsufficientMemoryException e = assertThrows(InsufficientMemoryException.class,
          () -> NativeMemory.mapAllocationFailures("decoding", () -> m.zeros(new Shape(1L << 42))));
      assertTrue(oneLine(e).contains("decoding: out of native memory (could not allocate 16384.0 GiB)"),
          e.getMessage());
      // Other engine errors pass through untouched.
      assertThrows(ai.djl.engine.EngineException.class, () -> NativeMemory.mapAllocationFailures("x",
          () -> m.zeros(new Shape(2, 3)).matMul(m.zeros(new Shape(2, 3)))));
      NDArray nan = m.create(new float[] {1, Float.NaN});
      assertThrows(TacoException.class, () -> NativeMemory.requireFinite(nan, "decoded image"));
      NativeMemory.requireFinite(m.create(new float[] {1, -2}), "fine");
    }
  }

  @Test
  void closeWaitsForRunningCallsAndRefusesLaterOnes() throws Exception {
    CallGate gate = new CallGate();
    CallGate.Call call = gate.enter("codec");
    AtomicBoolean closed = new AtomicBoolean();
    Thread closer = new Thread(() -> {
      gate.closeAndAwait();
      closed.set(true);
    });
    closer.start();
    while (closer.getState() != Thread.State.WAITING) { // closeAndAwait is waiting for the running call
      Thread.onSpinWait();
    }
    assertFalse(closed.get());
    assertEquals(1, gate.running());
    call.close();
    closer.join();
    assertTrue(closed.get());
    TacoException e = assertThrows(TacoException.class, () -> gate.enter("this TacoCodec"));
    assertEquals("this TacoCodec has been closed", e.getMessage());
  }

  private static HostTensor image(int h, int w, float value) {
    float[] v = new float[3 * h * w];
    java.util.Arrays.fill(v, value);
    return HostTensor.ofFloats(v, 1, 3, h, w);
  }

  private static HostTensor caption() {
    return HostTensor.ofFloats(new float[38 * 512], 38, 512);
  }

  @Test
  void theCodecRefusesBeyondItsBudgetBeforeAllocating() {
    String saved = System.getProperty(MemoryBudget.PROPERTY);
    System.setProperty(MemoryBudget.PROPERTY, "64m");
    // Untiled, so the estimate is the per-pixel one the messages below quote.
    try (TacoCodec codec =
        TacoCodec.builder().setRandomWeights(1).optConfig(TacoConfig.TINY).optTiling(Tiling.NONE).optMaxPixels(0)
            .build()) {
      // No pixel limit here, so the budget is what refuses. A forged official .bin declaring 16384x16384 (z 256x256): 2^28 px x 128 B = 32 GiB.
      CompressAiFile forged = CompressAiFile.of(16384, 16384, 256, 256, new byte[16], new byte[16]);
      InsufficientMemoryException e =
          assertThrows(InsufficientMemoryException.class, () -> codec.decompress(forged));
      assertTrue(oneLine(e).contains("decoding a 16384x16384 image (latent 256x256) needs about 32.0 GiB")
          && e.getMessage().contains("budget of 64 MiB"), e.getMessage());
      // 1024x1024 with the tiny model: 128 MiB > 64 MiB, refused before the image reaches libtorch.
      e = assertThrows(InsufficientMemoryException.class, () -> codec.compress(image(1024, 1024, 0.5f), caption()));
      assertTrue(e.getMessage().contains("encoding a 1024x1024 image"), e.getMessage());
      // Small images still code.
      TacoFile f = codec.compress(image(64, 64, 0.5f), caption());
      assertEquals(64, codec.decompress(f).shape()[3]);
    } finally {
      if (saved == null) {
        System.clearProperty(MemoryBudget.PROPERTY);
      } else {
        System.setProperty(MemoryBudget.PROPERTY, saved);
      }
    }
  }

  @Test
  void absurdOrNonFiniteInputsAreRefused() {
    try (TacoCodec codec = TacoCodec.builder().setRandomWeights(1).optConfig(TacoConfig.TINY).build()) {
      ImageException e = assertThrows(ImageException.class, () -> codec.compress(image(8, 8, 255f), caption()));
      assertTrue(oneLine(e).contains("outside [-1.0, 2.0]"), e.getMessage());
      assertThrows(ImageException.class, () -> codec.compress(image(8, 8, Float.NaN), caption()));
      float[] t = new float[38 * 512];
      t[5] = 1e30f;
      TacoException c = assertThrows(TacoException.class,
          () -> codec.compress(image(8, 8, 0.5f), HostTensor.ofFloats(t, 38, 512)));
      assertTrue(c.getMessage().contains("not CLIP text features"), c.getMessage());
      codec.close();
      TacoException closed = assertThrows(TacoException.class, () -> codec.compress(image(8, 8, 0.5f), caption()));
      assertEquals("this TacoCodec has been closed", closed.getMessage());
    }
  }

  @Test
  void nonFiniteWeightsAreRefusedAndNonFiniteReconstructionsToo() {
    Map<String, HostTensor> sd = StateDict.load(Golden.tacoSmallWeights());
    String gsKey = sd.keySet().stream().filter(k -> k.startsWith("g_s.")).filter(k -> k.endsWith("weight"))
        .reduce((a, b) -> b).orElseThrow();
    Map<String, HostTensor> nan = new LinkedHashMap<>(sd);
    float[] w = sd.get(gsKey).toFloatArray();
    w[0] = Float.NaN;
    nan.put(gsKey, HostTensor.ofFloats(w, sd.get(gsKey).shape()));
    WeightsException e = assertThrows(WeightsException.class,
        () -> TacoCodec.builder().setWeights(nan).optConfig(TacoConfig.SMALL).optScaleTable(ScaleTable.TORCH1).build());
    assertTrue(oneLine(e).contains("'" + gsKey + "' holds a non-finite value"), e.getMessage());
    // Finite weights whose synthesis overflows float32: the decoder output check refuses the reconstruction.
    Map<String, HostTensor> huge = new LinkedHashMap<>(sd);
    float[] big = sd.get(gsKey).toFloatArray();
    java.util.Arrays.fill(big, 3e38f);
    huge.put(gsKey, HostTensor.ofFloats(big, sd.get(gsKey).shape()));
    Map<String, HostTensor> img = Golden.tensors("taco-small/img0_64x64.safetensors");
    try (TacoCodec codec = TacoCodec.builder().setWeights(huge).optConfig(TacoConfig.SMALL).optScaleTable(ScaleTable.TORCH1).build()) {
      TacoFile f = codec.compress(img.get("x"), img.get("text_embeddings"));
      TacoException d = assertThrows(TacoException.class, () -> codec.decompress(f));
      assertTrue(oneLine(d).contains("decoded image holds NaN or infinite values"), d.getMessage());
    }
  }
}
