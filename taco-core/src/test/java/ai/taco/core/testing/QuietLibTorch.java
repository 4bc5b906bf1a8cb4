package ai.taco.core.testing;

import ai.taco.core.nn.LibTorch;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Turns libtorch's NNPACK off once per test JVM, before any test, so a build log holds no "Could not initialize
 * NNPACK" lines ({@link LibTorch#setUpOnce()}). Registered in META-INF/services of this module's tests and test-jar,
 * so every module that uses the test support gets it.
 */
public final class QuietLibTorch implements LauncherSessionListener {

  @Override
  public void launcherSessionOpened(LauncherSession session) {
    LibTorch.setUpOnce();
  }
}
