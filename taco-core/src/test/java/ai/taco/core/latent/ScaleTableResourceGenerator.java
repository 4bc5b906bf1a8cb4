package ai.taco.core.latent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/**
 * One-off tool that produced {@code src/main/resources/ai/taco/core/latent/scale_table_torch{1,2}.bin.gz} from the
 * reference outputs in the reference data folder {@code entropy/} (CompressAI 1.2.6 {@code GaussianConditional.update_scale_table}
 * under PyTorch 1.13 and 2.13). The tables are format constants of the reference, which is why they are shipped as data
 * rather than recomputed with platform float math. {@link ScaleTableTest} proves the shipped resources equal these files.
 *
 * <p>Run from the repository root (exact commands in {@code docs/bitstream.md}, "Gaussian scale tables"):
 * <pre>java -cp "taco-core/target/test-classes:taco-core/target/classes:$(cat /tmp/cp.txt)" \
 *     ai.taco.core.latent.ScaleTableResourceGenerator taco-test-fixtures/src/test/resources/reference/entropy \
 *     taco-core/src/main/resources/ai/taco/core/latent</pre>
 */
public final class ScaleTableResourceGenerator {
  private ScaleTableResourceGenerator() {}

  public static void main(String[] args) throws IOException {
    Path golden = Path.of(args[0]);
    Path out = Path.of(args[1]);
    write(golden.resolve("gaussian_conditional.safetensors"), "state.", out.resolve("scale_table_torch1.bin.gz"));
    write(golden.resolve("gaussian_conditional_torch2.safetensors"), "", out.resolve("scale_table_torch2.bin.gz"));
  }

  private static void write(Path src, String prefix, Path dst) throws IOException {
    byte[] file = Files.readAllBytes(src);
    ByteBuffer bb = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
    int headerLen = (int) bb.getLong(0);
    JsonNode header = new ObjectMapper().readTree(new String(file, 8, headerLen, java.nio.charset.StandardCharsets.UTF_8));
    int base = 8 + headerLen;
    int[] scaleBits = ints(bb, header.get(prefix + "scale_table"), base);
    int[] offsets = ints(bb, header.get(prefix + "_offset"), base);
    int[] lengths = ints(bb, header.get(prefix + "_cdf_length"), base);
    JsonNode cdfNode = header.get(prefix + "_quantized_cdf");
    int[] cdf = ints(bb, cdfNode, base);
    int width = cdfNode.get("shape").get(1).asInt();
    try (OutputStream fo = Files.newOutputStream(dst);
        DataOutputStream o = new DataOutputStream(new GZIPOutputStream(fo))) {
      o.writeInt(GaussianConditional.RESOURCE_MAGIC);
      o.writeInt(GaussianConditional.RESOURCE_VERSION);
      o.writeInt(scaleBits.length);
      for (int v : scaleBits) {
        o.writeInt(v);
      }
      for (int v : offsets) {
        o.writeInt(v);
      }
      for (int v : lengths) {
        o.writeInt(v);
      }
      for (int i = 0; i < lengths.length; i++) {
        int prev = 0;
        for (int j = 0; j < lengths[i]; j++) {
          int v = cdf[i * width + j];
          o.writeInt(v - prev);
          prev = v;
        }
      }
    }
  }

  /** Raw 32-bit little-endian words of one tensor (F32 as bit patterns, I32 as values). */
  private static int[] ints(ByteBuffer bb, JsonNode t, int base) {
    int begin = t.get("data_offsets").get(0).asInt();
    int end = t.get("data_offsets").get(1).asInt();
    int[] out = new int[(end - begin) / 4];
    for (int i = 0; i < out.length; i++) {
      out[i] = bb.getInt(base + begin + 4 * i);
    }
    return out;
  }
}
