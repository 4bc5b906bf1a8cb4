package ai.taco.core;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.LibUtils;
import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Process-wide libtorch settings that DJL's JNI does not expose.
 *
 * <p>{@link #disableNnpack()}: on a CPU without the instructions NNPACK needs, libtorch prints "Could not initialize
 * NNPACK! Reason: Unsupported hardware." each time a convolution asks whether NNPACK is usable (16 lines for one small
 * image, thousands per test run). {@code TORCH_CPP_LOG_LEVEL} does not help: only Python's {@code import torch} reads
 * it. Turning NNPACK off, as {@code torch.backends.nnpack.set_flags(False)} does, stops the question being asked.
 */
public final class LibTorch {

  private static final Logger LOG = LoggerFactory.getLogger(LibTorch.class);

  /** The C++ symbols of {@code at::globalContext()} and {@code at::Context::setUserEnabledNNPACK(bool)}. */
  private static final String GLOBAL_CONTEXT = "_ZN2at13globalContextEv";

  private static final String SET_USER_ENABLED_NNPACK = "_ZN2at7Context20setUserEnabledNNPACKEb";

  private LibTorch() {}

  /**
   * Turns NNPACK off for this process (starts the PyTorch engine if needed). Results do not change: libtorch picks
   * NNPACK only for unstrided convolutions of batches of 16 or more that oneDNN does not take, and never where NNPACK
   * cannot start. Returns false, and changes nothing, if the libtorch in use lacks the symbols.
   */
  public static synchronized boolean disableNnpack() {
    Engine.getEngine("PyTorch");
    Path lib = Path.of(LibUtils.getLibtorchPath(), System.mapLibraryName("torch_cpu"));
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
