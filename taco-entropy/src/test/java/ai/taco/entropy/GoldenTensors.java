package ai.taco.entropy;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import ai.taco.testing.ReferenceData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Test-only reader of the golden safetensors files (taco-entropy cannot use taco-core's reader): 8-byte
 * little-endian header length, JSON header, raw little-endian row-major data.
 */
final class GoldenTensors {
  /** One tensor: its dtype, shape and raw bytes. */
  record Tensor(String dtype, long[] shape, ByteBuffer data) {
    int[] ints() {
      if (!dtype.equals("I32")) {
        throw new AssertionError("expected I32, got " + dtype);
      }
      int[] out = new int[data.remaining() / 4];
      data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(out);
      return out;
    }

    float[] floats() {
      if (!dtype.equals("F32")) {
        throw new AssertionError("expected F32, got " + dtype);
      }
      float[] out = new float[data.remaining() / 4];
      data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
      return out;
    }

    byte[] bytes() {
      if (!dtype.equals("U8")) {
        throw new AssertionError("expected U8, got " + dtype);
      }
      byte[] out = new byte[data.remaining()];
      data.duplicate().get(out);
      return out;
    }
  }

  final Map<String, Tensor> tensors = new LinkedHashMap<>();
  final Map<String, String> metadata = new LinkedHashMap<>();

  private GoldenTensors() {}

  static GoldenTensors read(String relative) {
    Path file = ReferenceData.reference(relative);
    try {
      byte[] all = Files.readAllBytes(file);
      ByteBuffer buf = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
      long headerLength = buf.getLong(0);
      JsonNode header = new ObjectMapper().readTree(new String(all, 8, (int) headerLength, "UTF-8"));
      int dataStart = 8 + (int) headerLength;
      GoldenTensors g = new GoldenTensors();
      for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (e.getKey().equals("__metadata__")) {
          e.getValue().fields().forEachRemaining(m -> g.metadata.put(m.getKey(), m.getValue().asText()));
          continue;
        }
        JsonNode v = e.getValue();
        long[] shape = new long[v.get("shape").size()];
        for (int i = 0; i < shape.length; i++) {
          shape[i] = v.get("shape").get(i).asLong();
        }
        int begin = v.get("data_offsets").get(0).asInt();
        int end = v.get("data_offsets").get(1).asInt();
        ByteBuffer slice = ByteBuffer.wrap(all, dataStart + begin, end - begin).slice();
        g.tensors.put(e.getKey(), new Tensor(v.get("dtype").asText(), shape, slice));
      }
      return g;
    } catch (IOException e) {
      throw new AssertionError("cannot read golden file " + file + ": " + e, e);
    }
  }

  Tensor get(String name) {
    Tensor t = tensors.get(name);
    if (t == null) {
      throw new AssertionError("golden tensor missing: " + name);
    }
    return t;
  }
}
