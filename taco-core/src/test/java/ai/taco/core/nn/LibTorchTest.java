package ai.taco.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The environment defaults reach native code (libtorch reads them with getenv, not through Java) and never replace a
 * value the process started with.
 */
class LibTorchTest {
  @Test
  void environmentDefaultsAreSeenByNativeCodeAndUserValuesWin() {
    LibTorch.setUpOnce();
    for (Map.Entry<String, String> e : LibTorch.ENVIRONMENT_DEFAULTS.entrySet()) {
      String atStart = System.getenv(e.getKey());
      Pointer value = NativeLibrary.getInstance(Platform.C_LIBRARY_NAME).getFunction("getenv")
          .invokePointer(new Object[] {e.getKey()});
      assertEquals(atStart != null ? atStart : e.getValue(), value == null ? null : value.getString(0), e.getKey());
    }
    // Applied once: a second call sets nothing.
    assertEquals(Map.of(), LibTorch.applyEnvironmentDefaults());
  }
}
