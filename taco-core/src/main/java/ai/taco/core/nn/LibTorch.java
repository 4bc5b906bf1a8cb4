package ai.taco.core.nn;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.LibUtils;
import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one-time, process-wide libtorch setup that DJL's JNI does not expose: {@link #setUpOnce()}, called by {@code
 * TacoCodec.Builder#build()} (and by the command-line tool and the test JVMs before the engine starts). The first call
 * does the three steps below; every later call returns at once and changes nothing, so building any number of codecs
 * mutates no process state beyond this first setup.
 *
 * <ol>
 *   <li>{@link #ENVIRONMENT_DEFAULTS}: libtorch and its OpenMP runtime read some settings from the process environment,
 *       once: libgomp when libtorch is loaded, c10's CPU allocator at its first allocation. Whoever starts libtorch
 *       first in a process decides them, so each one the environment lacks is set (libc {@code setenv}) just before the
 *       engine starts; a value the user set is never changed, and if another library started libtorch earlier these
 *       defaults have no effect (set the variables before the JVM starts).
 *   <li>The PyTorch engine is started.
 *   <li>NNPACK is turned off: on a CPU without the instructions NNPACK needs, libtorch prints "Could not initialize
 *       NNPACK! Reason: Unsupported hardware." each time a convolution asks whether NNPACK is usable (16 lines for one
 *       small image, thousands per test run). {@code TORCH_CPP_LOG_LEVEL} does not help: only Python's {@code import
 *       torch} reads it. Turning NNPACK off, as {@code torch.backends.nnpack.set_flags(False)} does, stops the question
 *       being asked; results do not change.
 * </ol>
 */
public final class LibTorch {

  private static final Logger LOG = LoggerFactory.getLogger(LibTorch.class);

  /** The C++ symbols of {@code at::globalContext()} and {@code at::Context::setUserEnabledNNPACK(bool)}. */
  private static final String GLOBAL_CONTEXT = "_ZN2at13globalContextEv";

  private static final String SET_USER_ENABLED_NNPACK = "_ZN2at7Context20setUserEnabledNNPACKEb";

  /**
   * Environment defaults applied before libtorch starts (docs/performance.md, "Large images" and "OpenMP wait policy"):
   *
   * <ul>
   *   <li>{@code THP_MEM_ALLOC_ENABLE=1}: c10 advises the kernel to back allocations of 2 MiB and more with
   *       transparent huge pages. Every large feature map is a fresh mmap, and on this VM its first touch costs one page
   *       fault per 4 KiB: a ReLU over a 75 MB map took 150 ms in faults and 13 ms with huge pages; whole 4K encodes
   *       ran about twice as fast. Values are unaffected.
   *   <li>{@code OMP_WAIT_POLICY=PASSIVE}: libtorch's OpenMP threads sleep instead of spinning between operations;
   *       3-5× faster wall time on shared cores, a few per cent slower on idle ones. Values are unaffected.
   * </ul>
   */
  public static final Map<String, String> ENVIRONMENT_DEFAULTS =
      Map.of("THP_MEM_ALLOC_ENABLE", "1", "OMP_WAIT_POLICY", "PASSIVE");

  private static boolean environmentApplied;

  /** Set once {@link #setUpOnce()} has run to its end; later calls then do nothing. */
  private static boolean setUp;

  /** Whether the first {@link #setUpOnce()} turned NNPACK off. */
  private static boolean nnpackDisabled;

  private LibTorch() {}

  /**
   * Sets each of {@link #ENVIRONMENT_DEFAULTS} that the process environment lacks (libc {@code setenv}, so native
   * code sees it; {@link System#getenv} keeps its start-up copy). Called before the engine starts; later calls do
   * nothing. Returns the variables it set.
   */
  static synchronized Map<String, String> applyEnvironmentDefaults() {
    if (environmentApplied) {
      return Map.of();
    }
    environmentApplied = true;
    Map<String, String> set = new java.util.TreeMap<>();
    try {
      Function getenv = NativeLibrary.getInstance(Platform.C_LIBRARY_NAME).getFunction("getenv");
      Function setenv = NativeLibrary.getInstance(Platform.C_LIBRARY_NAME).getFunction("setenv");
      for (Map.Entry<String, String> e : new java.util.TreeMap<>(ENVIRONMENT_DEFAULTS).entrySet()) {
        if (getenv.invokePointer(new Object[] {e.getKey()}) == null
            && setenv.invokeInt(new Object[] {e.getKey(), e.getValue(), 0}) == 0) {
          set.put(e.getKey(), e.getValue());
        }
      }
    } catch (UnsatisfiedLinkError e) {
      LOG.debug("libtorch environment defaults not applied: {}", e.getMessage());
    }
    return set;
  }

  /**
   * The one-time setup (class comment): environment defaults, engine start, NNPACK off. Idempotent: only the first
   * successful call does anything; a call that fails to start the engine (an {@code EngineException}) leaves it to the
   * next one. Returns whether NNPACK was turned off (false, with nothing changed, if the libtorch in use lacks the
   * symbols).
   */
  public static synchronized boolean setUpOnce() {
    if (!setUp) {
      applyEnvironmentDefaults();
      Engine.getEngine("PyTorch");
      nnpackDisabled = disableNnpack();
      setUp = true;
    }
    return nnpackDisabled;
  }

  /**
   * The file of the libtorch_cpu library DJL loaded (the engine has started), whose exported C++ functions this
   * package reaches through JNA: NNPACK's switch here, autocast ({@link ReducedPrecision}), in-place activations
   * ({@link InPlace}).
   */
  static Path torchCpu() {
    return Path.of(LibUtils.getLibtorchPath(), System.mapLibraryName("torch_cpu"));
  }

  /**
   * Turns NNPACK off for this process (the engine has started). Results do not change: libtorch picks NNPACK only for
   * unstrided convolutions of batches of 16 or more that oneDNN does not take, and never where NNPACK cannot start.
   */
  private static boolean disableNnpack() {
    Path lib = torchCpu();
    if (!Files.isRegularFile(lib)) {
      LOG.debug("NNPACK left on: no {}", lib);
      return false;
    }
    try {
      NativeLibrary torch = NativeLibrary.getInstance(lib.toString());
      Pointer context = torch.getFunction(GLOBAL_CONTEXT).invokePointer(new Object[0]);
      Function set = torch.getFunction(SET_USER_ENABLED_NNPACK);
      set.invokeVoid(new Object[] {context, Boolean.FALSE});
      return true;
    } catch (UnsatisfiedLinkError e) {
      LOG.debug("NNPACK left on: {}", e.getMessage());
      return false;
    }
  }
}
