package ai.taco.core;

import ai.taco.core.error.TacoException;
import ai.taco.core.bitstream.ScaleTable;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import ai.taco.core.bitstream.TacoFile;
import ai.taco.core.error.WeightsException;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.core.weights.SafeTensors;
import ai.taco.core.weights.StateDict;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Weights stored as float64, float16 or bfloat16 (HuggingFace ships half variants) load and code; NaN weights in a
 * file are refused naming the tensor; closing a codec while calls run never surfaces a raw DJL error.
 */
class WeightsDtypeTest {
  @TempDir Path tmp;

  private static HostTensor convert(HostTensor t, DataType to) {
    float[] v = t.toFloatArray();
    int es = to == DataType.FLOAT64 ? 8 : 2;
    ByteBuffer b = ByteBuffer.allocate(v.length * es).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : v) {
      if (to == DataType.FLOAT64) {
        b.putDouble(f);
      } else if (to == DataType.BFLOAT16) {
        b.putShort((short) (Float.floatToIntBits(f) >>> 16)); // truncation: any bf16 value will do
      } else {
        b.putShort(toHalf(f));
      }
    }
    b.flip();
    return new HostTensor(to, t.shape(), b);
  }

  /** float32 to binary16 by truncation, tiny values flushed to zero (Java 17 has no Float.floatToFloat16). */
  private static short toHalf(float f) {
    int bits = Float.floatToIntBits(f);
    int sign = (bits >>> 16) & 0x8000;
    int exp = ((bits >>> 23) & 0xff) - 127 + 15;
    if (exp <= 0) {
      return (short) sign;
    }
    if (exp >= 31) {
      return (short) (sign | 0x7bff);
    }
    return (short) (sign | exp << 10 | (bits >>> 13) & 0x3ff);
  }

  private Path writeAs(Map<String, HostTensor> sd, DataType to) throws IOException {
    Map<String, HostTensor> out = new LinkedHashMap<>();
    sd.forEach((k, v) -> out.put(k, v.dataType() == DataType.FLOAT32 ? convert(v, to) : v));
    Path p = tmp.resolve(to + ".safetensors");
    SafeTensors.write(p, out, Map.of());
    return p;
  }

  @Test
  void float64AndHalfWeightsLoadAndCode() throws IOException {
    Map<String, HostTensor> sd = StateDict.load(Golden.tacoSmallWeights());
    Map<String, HostTensor> img = Golden.tensors("taco-small/img0_64x64.safetensors");
    byte[] official = Files.readAllBytes(Golden.golden("taco-small/img0_64x64.bin"));
    // float64 holding the float32 values exactly: narrowed back, the official file comes out byte for byte.
    try (TacoCodec c = codec(writeAs(sd, DataType.FLOAT64))) {
      byte[] coded = c.compress(img.get("x"), img.get("text_embeddings"), EncodeOptions.official()).toBytes();
      assertArrayEquals(official, coded);
    }
    // bfloat16 (DJL aborts the JVM on a BFLOAT16 array: widened in Java) and float16 code and decode to an image.
    for (DataType half : new DataType[] {DataType.BFLOAT16, DataType.FLOAT16}) {
      try (TacoCodec c = codec(writeAs(sd, half))) {
        TacoFile f = c.compress(img.get("x"), img.get("text_embeddings"));
        float[] x = c.decompress(f).toFloatArray();
        assertEquals(3 * 64 * 64, x.length, half.toString());
      }
    }
  }

  @Test
  void aNanWeightInAFileIsRefusedNamingTheTensor() throws IOException {
    Map<String, HostTensor> sd = new LinkedHashMap<>(StateDict.load(Golden.tacoSmallWeights()));
    String key = sd.keySet().stream().filter(k -> k.startsWith("g_a.")).findFirst().orElseThrow();
    float[] v = sd.get(key).toFloatArray();
    v[v.length - 1] = Float.NaN;
    sd.put(key, HostTensor.ofFloats(v, sd.get(key).shape()));
    Path p = tmp.resolve("nan.safetensors");
    SafeTensors.write(p, sd, Map.of());
    WeightsException e = assertThrows(WeightsException.class,
        () -> codec(p));
    assertTrue(e.getMessage().startsWith(p.toString()) && e.getMessage().contains("'" + key + "'")
        && e.getMessage().contains("element " + (v.length - 1)), e.getMessage());
  }

  @Test
  void closingWhileCallsRunEndsThemCleanly() throws Exception {
    float[] px = new float[3 * 64 * 64];
    java.util.Arrays.fill(px, 0.25f);
    HostTensor image = HostTensor.ofFloats(px, 1, 3, 64, 64);
    HostTensor text = HostTensor.ofFloats(new float[38 * 512], 38, 512);
    TacoCodec codec = TacoCodec.builder().setRandomWeights(3).optConfig(TacoConfig.TINY).build();
    ExecutorService pool = Executors.newFixedThreadPool(2);
    List<Future<List<Throwable>>> runs = new ArrayList<>();
    for (int t = 0; t < 2; t++) {
      runs.add(pool.submit(() -> {
        List<Throwable> errors = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
          try {
            codec.decompress(codec.compress(image, text));
          } catch (Throwable e) {
            errors.add(e);
          }
        }
        return errors;
      }));
    }
    codec.compress(image, text); // let the workers get going
    codec.close();
    pool.shutdown();
    int refused = 0;
    for (Future<List<Throwable>> r : runs) {
      for (Throwable e : r.get()) {
        // Only the typed refusal of calls made after close(); never DJL's "native resource has been released".
        assertTrue(e instanceof TacoException && e.getMessage().equals("this TacoCodec has been closed"),
            String.valueOf(e));
        refused++;
      }
    }
    assertFalse(refused > 12);
  }

  private static TacoCodec codec(Path weights) {
    return TacoCodec.builder().setWeights(weights).optConfig(TacoConfig.SMALL).optScaleTable(ScaleTable.TORCH1).build();
  }
}
