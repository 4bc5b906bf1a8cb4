package ai.taco.core.weights;

import ai.djl.ndarray.types.DataType;
import ai.taco.core.error.WeightsException;
import ai.taco.core.files.AtomicFiles;
import ai.taco.core.tensor.HostTensor;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads and writes the safetensors format (HuggingFace): an 8-byte little-endian header length, a JSON header
 * {@code {name: {dtype, shape, data_offsets}, "__metadata__": {..}}}, then the raw little-endian tensor bytes.
 *
 * <p>Reading memory-maps each tensor, so multi-gigabyte checkpoints (CLIP ViT-L/14) cost no heap.
 */
public final class SafeTensors {
  /** Headers larger than this are refused: real headers are a few hundred KB; a huge value means a corrupt file. */
  private static final long MAX_HEADER_BYTES = 100L << 20;

  private static final ObjectMapper JSON = new ObjectMapper();

  private SafeTensors() {}

  /** The tensors of a file, in file order, and its {@code __metadata__} strings. */
  public record Contents(Map<String, HostTensor> tensors, Map<String, String> metadata) {
    public Contents {
      tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
      metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /** The named tensor; a {@link WeightsException} naming the key if it is absent. */
    public HostTensor get(String name) {
      HostTensor t = tensors.get(name);
      if (t == null) {
        throw new WeightsException("no tensor named '" + name + "'");
      }
      return t;
    }
  }

  /** True if the file starts like a safetensors file (a plausible header length followed by '{'). */
  public static boolean looksLikeSafeTensors(Path file) {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer head = ByteBuffer.allocate(9).order(ByteOrder.LITTLE_ENDIAN);
      while (head.hasRemaining() && ch.read(head) > 0) {}
      if (head.position() < 9) {
        return false;
      }
      long n = head.getLong(0);
      return n > 1 && n <= MAX_HEADER_BYTES && n + 8 <= ch.size() && head.get(8) == '{';
    } catch (IOException e) {
      return false;
    }
  }

  /** Reads a safetensors file. Every inconsistency (offsets, sizes, dtype) is a {@link WeightsException}. */
  public static Contents read(Path file) {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size < 8) {
        throw new WeightsException(file + ": too short for a safetensors file (" + size + " bytes)");
      }
      ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, lenBuf, 0);
      long headerLen = lenBuf.getLong(0);
      if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES || 8 + headerLen > size) {
        throw new WeightsException(file + ": not a safetensors file (header length " + headerLen + ")");
      }
      ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
      readFully(ch, headerBuf, 8);
      JsonNode header;
      try {
        header = JSON.readTree(new String(headerBuf.array(), StandardCharsets.UTF_8));
      } catch (JsonProcessingException e) {
        throw new WeightsException(file + ": safetensors header is not valid JSON", e);
      }
      if (header == null || !header.isObject()) {
        throw new WeightsException(file + ": safetensors header is not a JSON object");
      }
      long dataStart = 8 + headerLen;
      long dataLen = size - dataStart;
      Map<String, HostTensor> tensors = new LinkedHashMap<>();
      Map<String, String> metadata = new LinkedHashMap<>();
      // Data order, not header order: the header is a JSON object and writers may sort its keys.
      java.util.List<Map.Entry<String, Long>> byOffset = new java.util.ArrayList<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (e.getKey().equals("__metadata__")) {
          e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
          continue;
        }
        JsonNode offs = e.getValue().get("data_offsets");
        if (offs == null || offs.size() != 2) {
          throw new WeightsException(file + ": tensor '" + e.getKey() + "' has no data_offsets");
        }
        byOffset.add(Map.entry(e.getKey(), offs.get(0).asLong()));
      }
      byOffset.sort(Map.Entry.comparingByValue());
      for (Map.Entry<String, Long> entry : byOffset) {
        String name = entry.getKey();
        JsonNode spec = header.get(name);
        DataType dt = dtype(file, name, spec.path("dtype").asText());
        JsonNode shapeNode = spec.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
          throw new WeightsException(file + ": tensor '" + name + "' has no shape");
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
          JsonNode d = shapeNode.get(i);
          if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0) {
            throw new WeightsException(
                file + ": tensor '" + name + "' has an invalid shape " + shapeNode + " (corrupt header?)");
          }
          shape[i] = d.asLong();
        }
        long begin = spec.get("data_offsets").get(0).asLong();
        long end = spec.get("data_offsets").get(1).asLong();
        long expected;
        try {
          expected = Math.multiplyExact(HostTensor.numel(shape), HostTensor.elementSize(dt));
        } catch (ArithmeticException e) {
          throw new WeightsException(
              file + ": tensor '" + name + "' has an impossibly large shape " + shapeNode + " (corrupt header?)", e);
        }
        if (begin < 0 || end < begin || end > dataLen || end - begin != expected) {
          throw new WeightsException(
              file + ": tensor '" + name + "' has offsets [" + begin + "," + end + ") inconsistent with its "
                  + dt + " shape " + java.util.Arrays.toString(shape) + " or the file size (truncated file?)");
        }
        ByteBuffer bytes =
            end == begin
                ? ByteBuffer.allocate(0)
                : ch.map(FileChannel.MapMode.READ_ONLY, dataStart + begin, end - begin);
        tensors.put(name, new HostTensor(dt, shape, bytes.order(ByteOrder.LITTLE_ENDIAN)));
      }
      return new Contents(tensors, metadata);
    } catch (NoSuchFileException e) {
      throw new WeightsException("file not found: " + file, e);
    } catch (IOException e) {
      throw new WeightsException(file + ": cannot read (" + e.getMessage() + ")", e);
    }
  }

  private static DataType dtype(Path file, String name, String code) {
    switch (code) {
      case "F64":
        return DataType.FLOAT64;
      case "F32":
        return DataType.FLOAT32;
      case "F16":
        return DataType.FLOAT16;
      case "BF16":
        return DataType.BFLOAT16;
      case "I64":
        return DataType.INT64;
      case "I32":
        return DataType.INT32;
      case "I16":
        return DataType.INT16;
      case "I8":
        return DataType.INT8;
      case "U8":
        return DataType.UINT8;
      case "U16":
        return DataType.UINT16;
      case "U32":
        return DataType.UINT32;
      case "U64":
        return DataType.UINT64;
      case "BOOL":
        return DataType.BOOLEAN;
      default:
        throw new WeightsException(file + ": tensor '" + name + "' has unsupported dtype '" + code + "'");
    }
  }

  private static String code(DataType t) {
    switch (t) {
      case FLOAT64:
        return "F64";
      case FLOAT32:
        return "F32";
      case FLOAT16:
        return "F16";
      case BFLOAT16:
        return "BF16";
      case INT64:
        return "I64";
      case INT32:
        return "I32";
      case INT16:
        return "I16";
      case INT8:
        return "I8";
      case UINT8:
        return "U8";
      case UINT16:
        return "U16";
      case UINT32:
        return "U32";
      case UINT64:
        return "U64";
      case BOOLEAN:
        return "BOOL";
      default:
        throw new WeightsException("cannot write dtype " + t + " to safetensors");
    }
  }

  private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
    while (buf.hasRemaining()) {
      int n = ch.read(buf, pos + buf.position());
      if (n < 0) {
        throw new IOException("unexpected end of file");
      }
    }
    buf.flip();
  }

  /**
   * Writes tensors (in map order) and metadata, replacing an existing regular file. The file appears atomically: it is
   * written next to the target and renamed, so a crash never leaves a half-written file under the final name.
   *
   * @throws WeightsException if {@code file} is a directory, symbolic link or special file, or writing fails
   */
  public static void write(Path file, Map<String, HostTensor> tensors, Map<String, String> metadata)
      throws IOException {
    ObjectNode header = JSON.createObjectNode();
    if (metadata != null && !metadata.isEmpty()) {
      ObjectNode meta = header.putObject("__metadata__");
      metadata.forEach(meta::put);
    }
    long offset = 0;
    for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
      HostTensor t = e.getValue();
      long n = t.data().remaining();
      ObjectNode spec = header.putObject(e.getKey());
      spec.put("dtype", code(t.dataType()));
      var shape = spec.putArray("shape");
      for (long d : t.shape()) {
        shape.add(d);
      }
      var offs = spec.putArray("data_offsets");
      offs.add(offset);
      offs.add(offset + n);
      offset += n;
    }
    byte[] json = JSON.writeValueAsBytes(header);
    // Pad the header with spaces to a multiple of 8 so tensor data stays aligned, as the reference writer does.
    int padded = (json.length + 7) / 8 * 8;
    AtomicFiles.write(file, true, raw -> {
      OutputStream out = new java.io.BufferedOutputStream(raw, 1 << 20);
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
      out.write(len.array());
      out.write(json);
      for (int i = json.length; i < padded; i++) {
        out.write(' ');
      }
      byte[] chunk = new byte[1 << 16];
      for (HostTensor t : tensors.values()) {
        ByteBuffer b = t.data();
        while (b.hasRemaining()) {
          int k = Math.min(chunk.length, b.remaining());
          b.get(chunk, 0, k);
          out.write(chunk, 0, k);
        }
      }
      out.flush();
    }, WeightsException::new);
  }
}
