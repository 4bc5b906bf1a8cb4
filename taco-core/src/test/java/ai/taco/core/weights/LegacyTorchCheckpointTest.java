package ai.taco.core.weights;

import ai.taco.core.error.WeightsException;
import ai.taco.core.tensor.HostTensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.testing.Golden;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The legacy (PyTorch < 1.6) torch.save format, built here opcode by opcode from its specification
 * (torch/serialization.py `_legacy_save`): magic-number pickle, protocol pickle, sys-info pickle, the object pickle
 * with persistent storage ids, the storage-key list, then each storage as int64 count + raw little-endian data.
 */
class LegacyTorchCheckpointTest {
  @TempDir Path tmp;

  private static final class Pickle {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Pickle op(int... bytes) {
      for (int b : bytes) {
        out.write(b);
      }
      return this;
    }

    Pickle str(String s) { // BINUNICODE
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      op('X', b.length & 0xff, (b.length >> 8) & 0xff, 0, 0);
      out.writeBytes(b);
      return this;
    }

    Pickle global(String module, String name) { // GLOBAL
      op('c');
      out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
      return this;
    }

    Pickle small(int v) { // BININT1
      return op('K', v);
    }

    Pickle tensor(String key, int numel, int offset, int[] size, int[] stride) {
      global("torch._utils", "_rebuild_tensor_v2").op('(');
      op('(').str("storage").global("torch", "FloatStorage").str(key).str("cpu").small(numel).op('N', 't', 'Q');
      small(offset).op('(');
      for (int s : size) {
        small(s);
      }
      op('t', '(');
      for (int s : stride) {
        small(s);
      }
      op('t', 0x89).global("collections", "OrderedDict").op(')', 'R', 't', 'R');
      return this;
    }

    byte[] bytes() {
      return out.toByteArray();
    }
  }

  private static byte[] legacyFile(float[] storage, boolean truncate) {
    ByteArrayOutputStream f = new ByteArrayOutputStream();
    // torch.serialization.MAGIC_NUMBER = 0x1950a86a20f9469cfc6c as LONG1 (10 bytes little-endian).
    byte[] magic = new java.math.BigInteger("1950a86a20f9469cfc6c", 16).toByteArray();
    Pickle m = new Pickle().op(0x80, 2, 0x8a, magic.length);
    for (int i = magic.length - 1; i >= 0; i--) {
      m.op(magic[i] & 0xff);
    }
    f.writeBytes(m.op('.').bytes());
    f.writeBytes(new Pickle().op(0x80, 2, 'M', 0xe9, 0x03, '.').bytes()); // protocol 1001
    f.writeBytes(new Pickle().op(0x80, 2, '}', '(').str("little_endian").op(0x88, 'u', '.').bytes());
    Pickle obj = new Pickle().op(0x80, 2).global("collections", "OrderedDict").op(')', 'R', '(');
    obj.str("w").tensor("k1", 6, 0, new int[] {2, 3}, new int[] {3, 1});
    obj.str("w_t").tensor("k1", 6, 0, new int[] {3, 2}, new int[] {1, 3}); // a transposed view, shared storage
    obj.str("tail").tensor("k1", 6, 4, new int[] {2}, new int[] {1}); // offset slice
    f.writeBytes(obj.op('u', '.').bytes());
    f.writeBytes(new Pickle().op(0x80, 2, ']', '(').str("k1").op('e', '.').bytes());
    ByteBuffer data = ByteBuffer.allocate(8 + 4 * storage.length).order(ByteOrder.LITTLE_ENDIAN);
    data.putLong(storage.length);
    for (float v : storage) {
      data.putFloat(v);
    }
    byte[] all = f.toByteArray();
    byte[] out = Arrays.copyOf(all, all.length + data.capacity());
    System.arraycopy(data.array(), 0, out, all.length, data.capacity());
    return truncate ? Arrays.copyOf(out, out.length - 5) : out;
  }

  @Test
  void readsLegacyFilesWithViewsAndSharedStorage() throws IOException {
    Path p = tmp.resolve("legacy.pth");
    Files.write(p, legacyFile(new float[] {1, 2, 3, 4, 5, 6}, false));
    Map<String, HostTensor> sd = StateDict.load(p);
    assertEquals(Set.of("w", "w_t", "tail"), sd.keySet()); // razorvine does not keep dict order
    assertArrayEquals(new long[] {2, 3}, sd.get("w").shape());
    assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, sd.get("w").toFloatArray());
    assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, sd.get("w_t").toFloatArray());
    assertArrayEquals(new float[] {5, 6}, sd.get("tail").toFloatArray());
  }

  /** Largest state-dict tensor kept in the legacy reference file (scripts/reference/legacy_pth.py MAX_NUMEL). */
  private static final long LEGACY_SUBSET_MAX_NUMEL = 4096;

  /**
   * The small TACO checkpoint re-saved by torch 1.13 with {@code _use_new_zipfile_serialization=False} (state dict cut
   * to its tensors of at most 4096 elements; every other entry kept: optimizer states with 0-dim {@code step} tensors,
   * the scheduler's Counter, floats and strings) reads to exactly what the zip-format original reads to.
   */
  @Test
  void legacyFileWrittenByTorchEqualsTheZipCheckpoint() throws IOException {
    Path legacy = Golden.golden("taco-small/checkpoint_legacy_subset.pth");
    Path zip = Golden.golden("taco-small/checkpoint.pth.tar");
    byte[] head = Arrays.copyOf(Files.readAllBytes(legacy), 4);
    // Pickle protocol 2, then LONG1 of 10 bytes: the legacy format's magic-number pickle, not a zip archive.
    assertArrayEquals(new byte[] {(byte) 0x80, 2, (byte) 0x8a, 10}, head);

    Map<String, HostTensor> zipSd = StateDict.load(zip);
    Map<String, HostTensor> legacySd = StateDict.load(legacy);
    Set<String> subset = new HashSet<>();
    zipSd.forEach((k, t) -> {
      if (Arrays.stream(t.shape()).reduce(1, Math::multiplyExact) <= LEGACY_SUBSET_MAX_NUMEL) {
        subset.add(k);
      }
    });
    assertEquals(389, subset.size());
    assertEquals(subset, legacySd.keySet(), "module. prefix stripped, the zip file's small tensors");
    for (Map.Entry<String, HostTensor> e : legacySd.entrySet()) {
      assertSameTensor(zipSd.get(e.getKey()), e.getValue(), e.getKey());
    }

    Map<?, ?> zipTree = (Map<?, ?>) TorchCheckpoint.load(zip);
    Map<?, ?> legacyTree = (Map<?, ?>) TorchCheckpoint.load(legacy);
    assertEquals(zipTree.keySet(), legacyTree.keySet());
    int tensors = 0;
    for (Object k : zipTree.keySet()) {
      if (!k.equals("state_dict")) {
        tensors += assertSameTree(zipTree.get(k), legacyTree.get(k), String.valueOf(k));
      }
    }
    // Adam state: 8 kept entries of the main optimizer and the aux optimizer's one, each {step (0-dim), exp_avg,
    // exp_avg_sq}.
    assertEquals(27, tensors, "optimizer state tensors compared");
    Map<?, ?> legacyRaw = (Map<?, ?>) legacyTree.get("state_dict");
    Map<?, ?> zipRaw = (Map<?, ?>) zipTree.get("state_dict");
    for (Object k : legacyRaw.keySet()) {
      tensors += assertSameTree(zipRaw.get(k), legacyRaw.get(k), "state_dict." + k);
    }
    assertEquals(27 + 389, tensors);
  }

  private static void assertSameTensor(HostTensor expected, HostTensor actual, String what) {
    assertEquals(expected.dataType(), actual.dataType(), what);
    assertArrayEquals(expected.shape(), actual.shape(), what);
    assertEquals(expected.data(), actual.data(), what);
  }

  /** Asserts both trees hold the same values; returns how many tensors were compared. */
  private static int assertSameTree(Object expected, Object actual, String path) {
    int tensors = 0;
    if (expected instanceof HostTensor t) {
      assertTrue(actual instanceof HostTensor, path + ": not a tensor");
      assertSameTensor(t, (HostTensor) actual, path);
      tensors++;
    } else if (expected instanceof Map<?, ?> m) {
      assertTrue(actual instanceof Map<?, ?>, path + ": not a dict");
      Map<?, ?> a = (Map<?, ?>) actual;
      assertEquals(m.keySet(), a.keySet(), path);
      for (Object k : m.keySet()) {
        tensors += assertSameTree(m.get(k), a.get(k), path + "." + k);
      }
    } else if (expected instanceof List<?> l) {
      assertTrue(actual instanceof List<?>, path + ": not a list");
      List<?> a = (List<?>) actual;
      assertEquals(l.size(), a.size(), path);
      for (int i = 0; i < l.size(); i++) {
        tensors += assertSameTree(l.get(i), a.get(i), path + "[" + i + "]");
      }
    } else if (expected instanceof Object[] arr) {
      assertTrue(actual instanceof Object[], path + ": not a tuple");
      tensors += assertSameTree(Arrays.asList(arr), Arrays.asList((Object[]) actual), path);
    } else {
      assertEquals(expected, actual, path);
    }
    return tensors;
  }

  @Test
  void refusesTruncatedLegacyFiles() throws IOException {
    Path p = tmp.resolve("cut.pth");
    Files.write(p, legacyFile(new float[] {1, 2, 3, 4, 5, 6}, true));
    WeightsException e = assertThrows(WeightsException.class, () -> StateDict.load(p));
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    byte[] whole = legacyFile(new float[] {1, 2, 3, 4, 5, 6}, false);
    for (int cut = 1; cut < whole.length; cut += 7) {
      Files.write(p, Arrays.copyOf(whole, cut));
      assertThrows(WeightsException.class, () -> StateDict.load(p), "cut at " + cut);
    }
  }
}
