package ai.taco.core.entropy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Minimal read-only safetensors access for this package's tests (golden files). */
public final class TestTensors {
  private final ByteBuffer data;
  private final JsonNode header;
  private final int base;

  private TestTensors(Path p) {
    try {
      byte[] file = Files.readAllBytes(p);
      ByteBuffer bb = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
      int n = (int) bb.getLong(0);
      header = new ObjectMapper().readTree(new String(file, 8, n, StandardCharsets.UTF_8));
      base = 8 + n;
      data = bb;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Golden root: -Dtaco.golden or ../shared/golden seen from the repository root. */
  public static Path golden(String rel) {
    String prop = System.getProperty("taco.golden");
    Path root = prop != null ? Path.of(prop) : Path.of("..", "shared", "golden");
    if (!Files.isDirectory(root)) {
      root = Path.of("..", "..", "shared", "golden");
    }
    Path p = root.resolve(rel);
    if (!Files.exists(p)) {
      throw new IllegalStateException("golden file missing: " + p.toAbsolutePath());
    }
    return p;
  }

  public static TestTensors open(String rel) {
    return new TestTensors(golden(rel));
  }

  public long[] shape(String name) {
    JsonNode s = node(name).get("shape");
    long[] out = new long[s.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = s.get(i).asLong();
    }
    return out;
  }

  private JsonNode node(String name) {
    JsonNode n = header.get(name);
    if (n == null) {
      throw new IllegalArgumentException("no tensor " + name);
    }
    return n;
  }

  private int begin(String name) {
    return base + node(name).get("data_offsets").get(0).asInt();
  }

  private int bytes(String name) {
    JsonNode o = node(name).get("data_offsets");
    return o.get(1).asInt() - o.get(0).asInt();
  }

  public float[] floats(String name) {
    if (node(name).get("dtype").asText().equals("F64")) {
      double[] d = doubles(name);
      float[] f = new float[d.length];
      for (int i = 0; i < d.length; i++) {
        f[i] = (float) d[i];
      }
      return f;
    }
    float[] out = new float[bytes(name) / 4];
    int b = begin(name);
    for (int i = 0; i < out.length; i++) {
      out[i] = data.getFloat(b + 4 * i);
    }
    return out;
  }

  public double[] doubles(String name) {
    double[] out = new double[bytes(name) / 8];
    int b = begin(name);
    for (int i = 0; i < out.length; i++) {
      out[i] = data.getDouble(b + 8 * i);
    }
    return out;
  }

  public int[] ints(String name) {
    String dt = node(name).get("dtype").asText();
    int b = begin(name);
    if (dt.equals("I64")) {
      int[] out = new int[bytes(name) / 8];
      for (int i = 0; i < out.length; i++) {
        out[i] = Math.toIntExact(data.getLong(b + 8 * i));
      }
      return out;
    }
    int[] out = new int[bytes(name) / 4];
    for (int i = 0; i < out.length; i++) {
      out[i] = data.getInt(b + 4 * i);
    }
    return out;
  }

  public byte[] bytesOf(String name) {
    byte[] out = new byte[bytes(name)];
    data.get(begin(name), out);
    return out;
  }
}
