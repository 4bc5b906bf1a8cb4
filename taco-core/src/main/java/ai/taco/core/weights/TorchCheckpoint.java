package ai.taco.core.weights;

import ai.djl.ndarray.types.DataType;
import ai.taco.core.error.WeightsException;
import ai.taco.core.files.InputFiles;
import ai.taco.core.tensor.HostTensor;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
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
 * Reads PyTorch checkpoints written by {@code torch.save}, in both of its formats:
 *
 * <ul>
 *   <li>the zip format of PyTorch >= 1.6: {@code <name>/data.pkl} plus one raw little-endian file per storage under
 *       {@code <name>/data/} (official TACO {@code .pth.tar}, HuggingFace {@code pytorch_model.bin});
 *   <li>the legacy format of PyTorch < 1.6, still used by public weight files such as lpips' {@code alex.pth}: five
 *       pickles in a row (magic number, protocol version, system info, the object, the list of storage keys), then
 *       each storage as an int64 element count followed by its raw bytes.
 * </ul>
 *
 * <p>The pickle is read with razorvine's Unpickler (no code is executed: only the classes registered below are
 * constructed; anything else becomes an inert map of its state). Tensors become {@link HostTensor}s gathered from
 * their storage by offset and stride, so views, transposes and shared storages are handled.
 *
 * <p>Checkpoints come from strangers, so every pickle is first checked by {@link PickleScan} (declared lengths against
 * the bytes that exist, opcode count, dict keys and set members scalars only) and the unpickled graph by {@link
 * PickleGraph} (acyclic, bounded depth); tensor views are checked against their storage before anything is copied.
 * Every failure is a {@link WeightsException} naming the file (docs/hardening.md).
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
    Unpickler.registerConstructor("collections", "OrderedDict", TorchCheckpoint::orderedDict);
    Unpickler.registerConstructor("collections", "Counter", TorchCheckpoint::counter);
    // razorvine's own set constructors hash their members; members that are containers are refused first.
    for (String module : List.of("builtins", "__builtin__")) {
      Unpickler.registerConstructor(module, "set", TorchCheckpoint::set);
      Unpickler.registerConstructor(module, "frozenset", TorchCheckpoint::set);
    }
  }

  /**
   * Largest pickle read (the {@code data.pkl} of a zip checkpoint, or the pickles of a legacy file): real ones are
   * under 1 MB because tensor data is stored outside the pickle.
   */
  static final int MAX_PICKLE_BYTES = 64 << 20;

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

  /**
   * A legacy-format storage whose bytes follow the object pickle: tensors on it are resolved once they are read.
   * {@code elementOffset} is non-zero for the legacy "view" storages (a slice of a root storage).
   */
  private record PendingStorage(String key, DataType dataType, long elementOffset) {}

  /** A tensor on a {@link PendingStorage}, replaced by a {@link HostTensor} after the storages are read. */
  private record PendingTensor(PendingStorage storage, long offset, long[] size, long[] stride) {}

  /** {@code torch.serialization.MAGIC_NUMBER}, the first pickle of a legacy file. */
  private static final BigInteger LEGACY_MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);

  /** {@code torch.serialization.PROTOCOL_VERSION}, the second pickle of a legacy file. */
  private static final int LEGACY_PROTOCOL = 1001;

  /** {@code OrderedDict()} or, as Python 2-era pickles write it, {@code OrderedDict([[key, value], ...])}. */
  private static Object orderedDict(Object[] args) {
    PyDict d = new PyDict();
    if (args.length == 1 && args[0] instanceof List<?> pairs) {
      for (Object pair : pairs) {
        Object[] kv = pair instanceof Object[] a ? a : ((List<?>) pair).toArray();
        if (kv.length != 2) {
          throw new PickleException("OrderedDict item is not a (key, value) pair");
        }
        d.put(requireScalarKey(kv[0]), kv[1]);
      }
    }
    return d;
  }

  /** {@code set(iterable)} / {@code frozenset(iterable)} of scalars. */
  private static Object set(Object[] args) {
    java.util.Set<Object> out = new java.util.HashSet<>();
    if (args.length == 1 && args[0] instanceof java.util.Collection<?> items) {
      for (Object item : items) {
        out.add(requireScalarKey(item));
      }
    } else if (args.length == 1 && args[0] instanceof Object[] items) {
      for (Object item : items) {
        out.add(requireScalarKey(item));
      }
    } else if (args.length != 0) {
      throw new PickleException("unsupported set() arguments");
    }
    return out;
  }

  /** Keys that are safe to hash: never a container (see {@link PickleScan}). */
  private static Object requireScalarKey(Object key) {
    if (key == null || key instanceof String || key instanceof Number || key instanceof Boolean
        || key instanceof byte[]) {
      return key;
    }
    throw new PickleException("a dict key or set member is a " + key.getClass().getSimpleName()
        + ", not a string or number (a state dict's keys are strings)");
  }

  private static Object counter(Object[] args) {
    PyDict d = new PyDict();
    if (args.length == 1 && args[0] instanceof Map<?, ?> m) {
      d.putAll(m);
    }
    return d;
  }

  /** {@code _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])}. */
  private static Object rebuildTensor(Object[] args) {
    if (args.length < 4) {
      throw new PickleException("unexpected arguments to _rebuild_tensor_v2");
    }
    long offset = ((Number) args[1]).longValue();
    long[] size = longs(args[2]);
    long[] stride = longs(args[3]);
    if (args[0] instanceof PendingStorage pending) {
      return new PendingTensor(pending, offset, size, stride);
    }
    if (!(args[0] instanceof Storage storage)) {
      throw new PickleException("unexpected storage argument to _rebuild_tensor_v2");
    }
    return gather(storage, offset, size, stride);
  }

  /** Copies (or slices, when contiguous) the elements of a strided view out of its storage. */
  private static HostTensor gather(Storage storage, long offset, long[] size, long[] stride) {
    if (size.length != stride.length) {
      throw new PickleException("tensor size and stride have different ranks");
    }
    DataType dt = storage.dataType();
    int es = HostTensor.elementSize(dt);
    ByteBuffer src = storage.bytes();
    long storageNumel = src.limit() / es;
    long numel;
    try {
      numel = HostTensor.numel(size);
    } catch (ArithmeticException | WeightsException e) {
      throw new PickleException("tensor size " + Arrays.toString(size) + " is invalid or overflows");
    }
    // A view with more elements than its storage (stride 0 or overlapping strides: an expanded tensor) would
    // materialize an arbitrarily large copy of a tiny file; state dicts hold no such views.
    if (numel > storageNumel) {
      throw new PickleException("tensor of size " + Arrays.toString(size) + " (" + numel
          + " elements) views a storage of only " + storageNumel + " elements");
    }
    // Bounds of the view inside its storage (guards against corrupt files before any copy). Exact arithmetic: the
    // sizes and strides come from the file.
    long last = offset;
    try {
      for (int i = 0; i < size.length; i++) {
        if (stride[i] < 0) {
          throw new PickleException("tensor has a negative stride " + stride[i]);
        }
        if (size[i] > 0) {
          last = Math.addExact(last, Math.multiplyExact(size[i] - 1, stride[i]));
        }
      }
    } catch (ArithmeticException e) {
      last = Long.MAX_VALUE;
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

  /** Highest tensor rank accepted (torch's own limit for most operations is 25). */
  private static final int MAX_RANK = 64;

  private static long[] longs(Object o) {
    Object[] arr = o instanceof Object[] a ? a : ((List<?>) o).toArray();
    if (arr.length > MAX_RANK) {
      throw new PickleException("tensor of rank " + arr.length + " (at most " + MAX_RANK + ")");
    }
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
    InputFiles.requireRegular(file, "weights file", WeightsException::new);
    try {
      return looksLikeZip(file) ? loadZip(file) : loadLegacy(file);
    } catch (WeightsException e) {
      throw e.getMessage().startsWith(file.toString()) ? e : new WeightsException(file + ": " + e.getMessage(), e);
    } catch (PickleException | ClassCastException | IllegalArgumentException | ArithmeticException
        | IndexOutOfBoundsException | NullPointerException | IllegalStateException
        | UnsupportedOperationException e) {
      // razorvine reports malformed opcode arguments with these.
      throw new WeightsException(file + ": cannot unpickle checkpoint (" + oneLine(e) + ")", e);
    } catch (StackOverflowError e) {
      // Not expected after PickleScan/PickleGraph; kept so that no input can end in a stack trace.
      throw new WeightsException(file + ": checkpoint nested too deeply to read", e);
    } catch (OutOfMemoryError e) {
      throw new WeightsException(file + ": checkpoint too large for this JVM heap (-Xmx)", e);
    }
  }

  private static String oneLine(Throwable e) {
    String m = String.valueOf(e.getMessage());
    m = m.length() > 200 ? m.substring(0, 200) + "..." : m;
    return e.getClass().getSimpleName() + ": " + m.replace('\n', ' ');
  }

  private static Object loadZip(Path file) {
    ZipFile zip;
    try {
      zip = new ZipFile(file.toFile());
    } catch (ZipException e) {
      throw new WeightsException(file + ": damaged torch.save zip archive (" + e.getMessage() + ")", e);
    } catch (IOException e) {
      throw new WeightsException(file + ": cannot read (" + InputFiles.reason(e) + ")", e);
    }
    try (zip) {
      ZipEntry pkl =
          zip.stream().filter(z -> z.getName().endsWith("data.pkl")).findFirst().orElse(null);
      if (pkl == null) {
        throw new WeightsException(file + ": zip archive without data.pkl: not a torch.save checkpoint");
      }
      String prefix = pkl.getName().substring(0, pkl.getName().length() - "data.pkl".length());
      byte[] pickle;
      try (InputStream in = zip.getInputStream(pkl)) {
        pickle = in.readNBytes(MAX_PICKLE_BYTES + 1);
      }
      if (pickle.length > MAX_PICKLE_BYTES) {
        throw new WeightsException(file + ": data.pkl is larger than " + (MAX_PICKLE_BYTES >> 20) + " MB");
      }
      PickleScan.check(pickle, 0);
      Map<String, Storage> storages = new HashMap<>();
      Unpickler unpickler =
          new Unpickler() {
            @Override
            protected Object persistentLoad(Object pid) {
              Object[] t = storageId(pid);
              StorageType type = (StorageType) t[1];
              String key = String.valueOf(t[2]);
              return storages.computeIfAbsent(key, k -> readStorage(zip, file, prefix + "data/" + k, type.dataType()));
            }
          };
      Object root;
      try {
        root = unpickler.load(new java.io.ByteArrayInputStream(pickle));
      } finally {
        unpickler.close();
      }
      PickleGraph.check(root);
      return root;
    } catch (IOException e) {
      throw new WeightsException(file + ": cannot read (" + InputFiles.reason(e) + ")", e);
    }
  }

  /** The persistent id of a storage: {@code ('storage', StorageType, key, location, numel[, view_metadata])}. */
  private static Object[] storageId(Object pid) {
    Object[] t = pid instanceof Object[] a ? a : pid instanceof List<?> l ? l.toArray() : new Object[0];
    if (t.length < 5 || !"storage".equals(t[0]) || !(t[1] instanceof StorageType)) {
      throw new PickleException("unsupported persistent id (a " + (pid == null ? "None" : pid.getClass().getSimpleName())
          + " of " + t.length + " items)");
    }
    return t;
  }

  /** Reads one pickle of a legacy file at the stream's position, after checking it with {@link PickleScan}. */
  private static Object unpickleNext(byte[] bytes, java.io.ByteArrayInputStream in, Unpickler unpickler)
      throws IOException {
    int start = bytes.length - in.available();
    PickleScan.check(bytes, start);
    try {
      return unpickler.load(in);
    } finally {
      unpickler.close();
    }
  }

  /** The legacy (PyTorch < 1.6) format; see the class comment for its layout. */
  private static Object loadLegacy(Path file) {
    byte[] bytes;
    try {
      bytes = java.nio.file.Files.readAllBytes(file);
    } catch (IOException e) {
      throw new WeightsException(file + ": cannot read (" + InputFiles.reason(e) + ")", e);
    }
    String notTorch =
        file + ": neither a torch.save zip archive nor a legacy torch.save file (no PyTorch magic number)";
    if (bytes.length < 2 || (bytes[0] & 0xff) != 0x80) {
      throw new WeightsException(notTorch);
    }
    java.io.ByteArrayInputStream in = new java.io.ByteArrayInputStream(bytes);
    try {
      Object magic = unpickleNext(bytes, in, new Unpickler());
      if (!(magic instanceof Number mn) || !new BigInteger(mn.toString()).equals(LEGACY_MAGIC)) {
        throw new WeightsException(notTorch);
      }
      Object protocol = unpickleNext(bytes, in, new Unpickler());
      if (!(protocol instanceof Number pv) || pv.intValue() != LEGACY_PROTOCOL) {
        throw new WeightsException(file + ": unsupported legacy torch.save protocol " + protocol);
      }
      Object sysInfo = unpickleNext(bytes, in, new Unpickler());
      if (sysInfo instanceof Map<?, ?> info && Boolean.FALSE.equals(info.get("little_endian"))) {
        throw new WeightsException(file + ": written on a big-endian machine, which is not supported");
      }
      Map<String, PendingStorage> pending = new HashMap<>();
      Unpickler objects =
          new Unpickler() {
            @Override
            protected Object persistentLoad(Object pid) {
              Object[] t = storageId(pid);
              DataType dt = ((StorageType) t[1]).dataType();
              String root = String.valueOf(t[2]);
              pending.putIfAbsent(root, new PendingStorage(root, dt, 0));
              if (t.length > 5 && t[5] != null) {
                // A view: (view_key, element offset into the root storage, view size).
                Object[] view = t[5] instanceof Object[] a ? a : ((List<?>) t[5]).toArray();
                return new PendingStorage(root, dt, ((Number) view[1]).longValue());
              }
              return pending.get(root);
            }
          };
      Object root = unpickleNext(bytes, in, objects);
      PickleGraph.check(root);
      Object keys = unpickleNext(bytes, in, new Unpickler());
      List<?> keyList = keys instanceof List<?> l ? l : keys instanceof Object[] a ? Arrays.asList(a) : null;
      if (keyList == null) {
        throw new WeightsException(file + ": legacy checkpoint without its storage key list");
      }
      Map<String, Storage> storages = new HashMap<>();
      ByteBuffer rest = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
      rest.position(bytes.length - in.available());
      for (Object k : keyList) {
        String key = String.valueOf(k);
        PendingStorage p = pending.get(key);
        if (p == null) {
          throw new WeightsException(file + ": storage key " + key + " is not used by any tensor");
        }
        if (rest.remaining() < 8) {
          throw new WeightsException(file + ": truncated: storage " + key + " is missing");
        }
        long numel = rest.getLong();
        int es = HostTensor.elementSize(p.dataType());
        if (numel < 0 || numel > rest.remaining() / es) {
          throw new WeightsException(file + ": truncated or corrupt: storage " + key + " declares " + numel
              + " elements, only " + rest.remaining() + " bytes follow");
        }
        int n = (int) (numel * es);
        ByteBuffer data = rest.slice(rest.position(), n).order(ByteOrder.LITTLE_ENDIAN);
        rest.position(rest.position() + n);
        storages.put(key, new Storage(p.dataType(), data));
      }
      return resolve(root, storages, file);
    } catch (IOException e) {
      throw new WeightsException(file + ": cannot read (" + InputFiles.reason(e) + ")", e);
    }
  }

  /** Replaces every {@link PendingTensor} in the (checked, acyclic) object graph by its {@link HostTensor}. */
  private static Object resolve(Object root, Map<String, Storage> storages, Path file) {
    return PickleGraph.replaceAll(root, o -> {
      if (o instanceof PendingTensor t) {
        Storage s = storages.get(t.storage().key());
        if (s == null) {
          throw new WeightsException(file + ": storage " + t.storage().key() + " is missing");
        }
        return gather(s, t.storage().elementOffset() + t.offset(), t.size(), t.stride());
      }
      return o;
    });
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
      throw new WeightsException(file + ": cannot read storage " + entryName + " (" + InputFiles.reason(e) + ")", e);
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

  /** True if the file is a torch.save checkpoint in either format (zip, or a legacy pickle stream). */
  static boolean looksLikeTorch(Path file) {
    byte[] h = head(file);
    // Legacy files start with a protocol-2 pickle of the magic number: PROTO 2.
    return isZip(h) || (h.length >= 2 && (h[0] & 0xff) == 0x80 && h[1] == 2);
  }

  /** True if the file starts with a zip local-file header (what torch.save writes). */
  static boolean looksLikeZip(Path file) {
    return isZip(head(file));
  }

  private static boolean isZip(byte[] h) {
    return h.length == 4 && h[0] == 'P' && h[1] == 'K' && h[2] == 3 && h[3] == 4;
  }

  /** Up to the first 4 bytes of a file (fewer if it is shorter or unreadable). */
  private static byte[] head(Path file) {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocate(4);
      while (b.hasRemaining() && ch.read(b) > 0) {}
      return java.util.Arrays.copyOf(b.array(), b.position());
    } catch (IOException e) {
      return new byte[0];
    }
  }

}
