package ai.taco.core.io;

import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import net.razorvine.pickle.IObjectConstructor;
import net.razorvine.pickle.PickleException;
import net.razorvine.pickle.Unpickler;

/**
 * Reads PyTorch checkpoints written by {@code torch.save} (the zip format of PyTorch >= 1.6: {@code <name>/data.pkl}
 * plus one raw little-endian file per storage under {@code <name>/data/}). This is how the official TACO
 * {@code .pth.tar} checkpoints, torchvision / lpips / pytorch-fid {@code .pth} files and HuggingFace
 * {@code pytorch_model.bin} files are stored.
 *
 * <p>The pickle is read with razorvine's Unpickler (no code is executed: only the classes registered below are
 * constructed; anything else becomes an inert {@link PyObject}). Tensors become {@link HostTensor}s gathered from
 * their storage by offset and stride, so views, transposes and shared storages are handled.
 *
 * <p>The legacy non-zip format ({@code _use_new_zipfile_serialization=False}) is refused with a message saying how
 * to convert it once.
 */
public final class TorchCheckpoint {
  static {
    // razorvine's constructor registry is static; these registrations are idempotent and made once per class load.
    for (Map.Entry<String, DataType> e : storageTypes().entrySet()) {
      Unpickler.registerConstructor("torch", e.getKey(), new StorageType(e.getKey(), e.getValue()));
    }
    Unpickler.registerConstructor("torch._utils", "_rebuild_tensor_v2", args -> rebuildTensor(args));
    Unpickler.registerConstructor("torch._utils", "_rebuild_parameter", args -> args[0]);
    Unpickler.registerConstructor("torch._utils", "_rebuild_parameter_with_state", args -> args[0]);
    Unpickler.registerConstructor("collections", "OrderedDict", args -> new PyDict());
    Unpickler.registerConstructor("collections", "Counter", TorchCheckpoint::counter);
  }

  private TorchCheckpoint() {}

  /** A Python dict subclass (OrderedDict): insertion-ordered, with the attributes pickle may set on it. */
  public static final class PyDict extends LinkedHashMap<Object, Object> {
    private static final long serialVersionUID = 1L;

    /** Called by the unpickler for BUILD (state_dict's {@code _metadata} attribute); the attributes are ignored. */
    public void __setstate__(HashMap<?, ?> state) {}
  }

  /** An instance of a Python class this reader does not model (kept inert, with its constructor arguments). */
  public record PyObject(String className, List<Object> args) {}

  private static Map<String, DataType> storageTypes() {
    Map<String, DataType> m = new LinkedHashMap<>();
    m.put("FloatStorage", DataType.FLOAT32);
    m.put("DoubleStorage", DataType.FLOAT64);
    m.put("HalfStorage", DataType.FLOAT16);
    m.put("BFloat16Storage", DataType.BFLOAT16);
    m.put("LongStorage", DataType.INT64);
    m.put("IntStorage", DataType.INT32);
    m.put("ShortStorage", DataType.INT16);
    m.put("CharStorage", DataType.INT8);
    m.put("ByteStorage", DataType.UINT8);
    m.put("BoolStorage", DataType.BOOLEAN);
    m.put("UntypedStorage", DataType.UINT8);
    return m;
  }

  /** The pickled {@code torch.XStorage} class: a marker carrying the element type. */
  private record StorageType(String name, DataType dataType) implements IObjectConstructor {
    @Override
    public Object construct(Object[] args) {
      throw new PickleException("torch." + name + " is not constructed directly");
    }
  }

  /** A storage referenced by a persistent id: its bytes, read once and shared by every tensor viewing it. */
  private record Storage(DataType dataType, ByteBuffer bytes) {}

  private static Object counter(Object[] args) {
    PyDict d = new PyDict();
    if (args.length == 1 && args[0] instanceof Map<?, ?> m) {
      d.putAll(m);
    }
    return d;
  }

  /** {@code _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])}. */
  private static Object rebuildTensor(Object[] args) {
    if (args.length < 4 || !(args[0] instanceof Storage storage)) {
      throw new PickleException("unexpected arguments to _rebuild_tensor_v2");
    }
    long offset = ((Number) args[1]).longValue();
    long[] size = longs(args[2]);
    long[] stride = longs(args[3]);
    DataType dt = storage.dataType();
    int es = HostTensor.elementSize(dt);
    long numel = HostTensor.numel(size);
    ByteBuffer src = storage.bytes();
    long storageNumel = src.capacity() / es;
    // Bounds of the view inside its storage (guards against corrupt files before any copy).
    long last = offset;
    for (int i = 0; i < size.length; i++) {
      if (size[i] > 0) {
        last += (size[i] - 1) * stride[i];
      }
    }
    if (numel > 0 && (offset < 0 || last >= storageNumel)) {
      throw new PickleException(
          "tensor view " + Arrays.toString(size) + " at offset " + offset + " exceeds its storage of " + storageNumel);
    }
    boolean contiguous = true;
    long expect = 1;
    for (int i = size.length - 1; i >= 0; i--) {
      if (size[i] != 1 && stride[i] != expect) {
        contiguous = false;
      }
      expect *= size[i];
    }
    ByteBuffer out;
    if (contiguous) {
      ByteBuffer dup = src.duplicate();
      dup.position(Math.toIntExact(offset * es));
      dup.limit(Math.toIntExact((offset + numel) * es));
      out = dup.slice();
    } else {
      out = ByteBuffer.allocate(Math.toIntExact(numel * es));
      long[] idx = new long[size.length];
      byte[] elem = new byte[es];
      for (long n = 0; n < numel; n++) {
        long pos = offset;
        for (int d = 0; d < size.length; d++) {
          pos += idx[d] * stride[d];
        }
        ByteBuffer dup = src.duplicate();
        dup.position(Math.toIntExact(pos * es));
        dup.get(elem);
        out.put(elem);
        for (int d = size.length - 1; d >= 0; d--) {
          if (++idx[d] < size[d]) {
            break;
          }
          idx[d] = 0;
        }
      }
      out.flip();
    }
    return new HostTensor(dt, size, out.order(ByteOrder.LITTLE_ENDIAN));
  }

  private static long[] longs(Object o) {
    Object[] arr = o instanceof Object[] a ? a : ((List<?>) o).toArray();
    long[] r = new long[arr.length];
    for (int i = 0; i < arr.length; i++) {
      r[i] = ((Number) arr[i]).longValue();
    }
    return r;
  }

  /**
   * Loads the whole pickled object: Maps ({@link PyDict} or HashMap), Lists, Object[] (tuples), Numbers, Strings,
   * {@link HostTensor}s and inert {@link PyObject}s.
   */
  public static Object load(Path file) {
    ZipFile zip;
    try {
      zip = new ZipFile(file.toFile());
    } catch (NoSuchFileException | java.io.FileNotFoundException e) {
      throw new WeightsException("file not found: " + file, e);
    } catch (ZipException e) {
      throw new WeightsException(
          file + ": not a torch.save zip archive. If it is a legacy (PyTorch < 1.6) checkpoint, convert it once with "
              + "torch.save(torch.load(f), f2) under PyTorch >= 1.6; see docs/weights.md",
          e);
    } catch (IOException e) {
      throw new WeightsException(file + ": cannot read (" + e.getMessage() + ")", e);
    }
    try (zip) {
      ZipEntry pkl =
          zip.stream().filter(z -> z.getName().endsWith("data.pkl")).findFirst().orElse(null);
      if (pkl == null) {
        throw new WeightsException(file + ": zip archive without data.pkl: not a torch.save checkpoint");
      }
      String prefix = pkl.getName().substring(0, pkl.getName().length() - "data.pkl".length());
      Map<String, Storage> storages = new HashMap<>();
      Unpickler unpickler =
          new Unpickler() {
            @Override
            protected Object persistentLoad(Object pid) {
              Object[] t = pid instanceof Object[] a ? a : ((List<?>) pid).toArray();
              if (t.length < 5 || !"storage".equals(t[0]) || !(t[1] instanceof StorageType type)) {
                throw new PickleException("unsupported persistent id " + Arrays.deepToString(t));
              }
              String key = String.valueOf(t[2]);
              return storages.computeIfAbsent(key, k -> readStorage(zip, file, prefix + "data/" + k, type.dataType()));
            }
          };
      try (InputStream in = zip.getInputStream(pkl)) {
        return unpickler.load(in);
      } finally {
        unpickler.close();
      }
    } catch (PickleException | ClassCastException | IllegalArgumentException | ArithmeticException e) {
      throw new WeightsException(file + ": cannot unpickle checkpoint (" + e.getMessage() + ")", e);
    } catch (IOException e) {
      throw new WeightsException(file + ": cannot read (" + e.getMessage() + ")", e);
    }
  }

  private static Storage readStorage(ZipFile zip, Path file, String entryName, DataType dt) {
    ZipEntry entry = zip.getEntry(entryName);
    if (entry == null) {
      throw new WeightsException(file + ": storage " + entryName + " is missing (truncated checkpoint?)");
    }
    try (InputStream in = zip.getInputStream(entry)) {
      byte[] bytes = in.readAllBytes();
      return new Storage(dt, ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN));
    } catch (IOException e) {
      throw new WeightsException(file + ": cannot read storage " + entryName + " (" + e.getMessage() + ")", e);
    } catch (OutOfMemoryError e) {
      throw new WeightsException(file + ": storage " + entryName + " is too large for this JVM heap (-Xmx)", e);
    }
  }

  /**
   * The state dict of a checkpoint: its {@code state_dict} entry if it has one (official TACO {@code .pth.tar}),
   * else the top-level dict (torchvision, lpips, pytorch-fid, {@code pytorch_model.bin}). A {@code module.} prefix
   * (DistributedDataParallel) is stripped from every key. Non-tensor entries are ignored.
   */
  public static Map<String, HostTensor> loadStateDict(Path file) {
    Object root = load(file);
    if (!(root instanceof Map<?, ?> map)) {
      throw new WeightsException(file + ": checkpoint is not a dict but " + describe(root));
    }
    Object sd = map.containsKey("state_dict") ? map.get("state_dict") : map;
    if (!(sd instanceof Map<?, ?> dict)) {
      throw new WeightsException(file + ": 'state_dict' is not a dict but " + describe(sd));
    }
    Map<String, HostTensor> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : dict.entrySet()) {
      if (e.getValue() instanceof HostTensor t) {
        out.put(StateDict.stripModulePrefix(String.valueOf(e.getKey())), t);
      }
    }
    if (out.isEmpty()) {
      throw new WeightsException(file + ": no tensors found in the checkpoint's state dict");
    }
    return out;
  }

  private static String describe(Object o) {
    return o == null ? "None" : o.getClass().getSimpleName();
  }

  /** True if the file starts with a zip local-file header (what torch.save writes). */
  static boolean looksLikeZip(Path file) {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocate(4);
      while (b.hasRemaining() && ch.read(b) > 0) {}
      return b.position() == 4 && b.get(0) == 'P' && b.get(1) == 'K' && b.get(2) == 3 && b.get(3) == 4;
    } catch (IOException e) {
      return false;
    }
  }
}
