package ai.taco.core.files;

import java.nio.file.Path;

/**
 * Where TACO-J looks for weights by default: the {@code models/} folder of the installation (docs/weights.md).
 *
 * <p>Resolution order: the {@code taco.models} system property (a folder), else {@code <taco.home>/models} where
 * {@code taco.home} is set by {@code scripts/taco} to the repository root (so defaults work from any working
 * directory), else {@code models/} in the working directory (library and {@code mvn exec} use).
 */
public final class ModelsFolder {
  private ModelsFolder() {}

  /** The models folder itself. */
  public static Path root() {
    String models = System.getProperty("taco.models");
    if (models != null && !models.isBlank()) {
      return Path.of(models);
    }
    String home = System.getProperty("taco.home");
    if (home != null && !home.isBlank()) {
      return Path.of(home, "models");
    }
    return Path.of("models");
  }

  /** A path inside the models folder, e.g. {@code resolve("clip-vit-base-patch32")}. */
  public static Path resolve(String first, String... more) {
    return root().resolve(Path.of(first, more));
  }
}
