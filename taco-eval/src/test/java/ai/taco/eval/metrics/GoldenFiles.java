package ai.taco.eval.metrics;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Test-side reader of the shared golden files (safetensors + JSON). Independent of the product code on purpose. Fails
 * (never skips) when the golden folder is missing.
 */
final class GoldenFiles {
  private static final ObjectMapper JSON = new ObjectMapper();

  record Tensor(String dtype, long[] shape, ByteBuffer data) {
    float[] floats() {
      int n = (int) numel();
      float[] out = new float[n];
      switch (dtype) {
        case "F32" -> data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        case "U8" -> {
          for (int i = 0; i < n; i++) {
            out[i] = (float) (data.get(i) & 0xff) / 255.0f; // golden convention: x = u8 / 255 in float32
          }
        }
        case "F64" -> {
          for (int i = 0; i < n; i++) {
            out[i] = (float) data.duplicate().order(ByteOrder.LITTLE_ENDIAN).getDouble(i * 8);
          }
        }
        default -> throw new IllegalStateException("no float view of " + dtype);
      }
      return out;
    }

    double[] doubles() {
      if (!dtype.equals("F64")) {
        float[] f = floats();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
          d[i] = f[i];
        }
        return d;
      }
      double[] out = new double[(int) numel()];
      data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(out);
      return out;
    }

    byte[] bytes() {
      byte[] b = new byte[data.remaining()];
      data.duplicate().get(b);
      return b;
    }

    long numel() {
      long n = 1;
      for (long s : shape) {
        n *= s;
      }
      return n;
    }

    int dim(int i) {
      return (int) shape[i];
    }
  }

  record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {
    Tensor get(String name) {
      Tensor t = tensors.get(name);
      if (t == null) {
        fail("golden tensor missing: " + name);
      }
      return t;
    }
  }

  static Path golden(String rel) {
    String prop = System.getProperty("taco.golden");
    Path base = prop != null ? Path.of(prop) : Path.of("../../shared/golden");
    Path p = base.resolve(rel);
    if (!Files.exists(p)) {
      fail("golden file not found: " + p.toAbsolutePath() + " (set -Dtaco.golden)");
    }
    return p;
  }

  static JsonNode json(String rel) throws IOException {
    return JSON.readTree(golden(rel).toFile());
  }

  static Contents safetensors(String rel) throws IOException {
    byte[] all = Files.readAllBytes(golden(rel));
    ByteBuffer buf = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
    long headerLen = buf.getLong(0);
    JsonNode header = JSON.readTree(new String(all, 8, (int) headerLen, StandardCharsets.UTF_8));
    int base = 8 + (int) headerLen;
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    Map<String, String> meta = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().equals("__metadata__")) {
        e.getValue().fields().forEachRemaining(m -> meta.put(m.getKey(), m.getValue().asText()));
        continue;
      }
      JsonNode v = e.getValue();
      long[] shape = new long[v.get("shape").size()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = v.get("shape").get(i).asLong();
      }
      int from = v.get("data_offsets").get(0).asInt();
      int to = v.get("data_offsets").get(1).asInt();
      ByteBuffer slice = ByteBuffer.wrap(all, base + from, to - from).slice().order(ByteOrder.LITTLE_ENDIAN);
      tensors.put(e.getKey(), new Tensor(v.get("dtype").asText(), shape, slice));
    }
    return new Contents(tensors, meta);
  }

  private GoldenFiles() {}
}
