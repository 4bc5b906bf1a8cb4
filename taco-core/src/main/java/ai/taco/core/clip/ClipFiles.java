package ai.taco.core.clip;

import ai.taco.core.error.ClipException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where the CLIP files live and which ones are needed. Nothing is ever downloaded: a user gets the HuggingFace files
 * once (docs/weights.md, section CLIP) and the product reads them from a directory.
 */
public final class ClipFiles {

  /** Environment variable naming the CLIP directory when no flag is given. */
  public static final String ENV_VAR = "TACO_CLIP_DIR";

  /** Default directory: models/clip-vit-base-patch32 of the installation ({@link ai.taco.core.files.ModelsFolder}). */
  public static final Path DEFAULT_DIR = ai.taco.core.files.ModelsFolder.resolve("clip-vit-base-patch32");

  public static final String CONFIG = "config.json";
  public static final String SAFETENSORS = "model.safetensors";
  /** The older torch.save weights file of HF model repos, accepted when there is no model.safetensors. */
  public static final String TORCH_BIN = "pytorch_model.bin";
  public static final String TOKENIZER = "tokenizer.json";

  private ClipFiles() {}

  /** The CLIP directory: the explicit one if given, else {@code $TACO_CLIP_DIR}, else {@link #DEFAULT_DIR}. */
  public static Path resolveDirectory(Path explicit) {
    return resolveDirectory(explicit, System.getenv(ENV_VAR));
  }

  static Path resolveDirectory(Path explicit, String env) {
    if (explicit != null) {
      return explicit;
    }
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    return DEFAULT_DIR;
  }

  /** {@code model.safetensors} if present, else {@code pytorch_model.bin}; an error naming both if neither is. */
  static Path weightsFile(Path dir) {
    requireFiles(dir, false);
    Path st = dir.resolve(SAFETENSORS);
    return Files.isRegularFile(st) ? st : dir.resolve(TORCH_BIN);
  }

  /**
   * Checks that {@code dir} holds the files a CLIP model needs, and throws ONE error naming every missing file.
   *
   * @param withTokenizer whether {@code tokenizer.json} is needed too (text encoding from captions)
   */
  public static void requireFiles(Path dir, boolean withTokenizer) {
    List<String> missing = new ArrayList<>();
    if (!Files.isRegularFile(dir.resolve(CONFIG))) {
      missing.add(CONFIG);
    }
    if (!Files.isRegularFile(dir.resolve(SAFETENSORS)) && !Files.isRegularFile(dir.resolve(TORCH_BIN))) {
      missing.add(SAFETENSORS + " (or " + TORCH_BIN + ")");
    }
    if (withTokenizer && !Files.isRegularFile(dir.resolve(TOKENIZER))) {
      missing.add(TOKENIZER);
    }
    if (missing.isEmpty()) {
      return;
    }
    String where = Files.isDirectory(dir) ? "CLIP directory " + dir.toAbsolutePath() : "no CLIP directory at " + dir.toAbsolutePath();
    throw new ClipException(
        where
            + ": missing "
            + String.join(", ", missing)
            + ". TACO needs "
            + CONFIG
            + ", "
            + SAFETENSORS
            + (withTokenizer ? " and " + TOKENIZER : "")
            + " of openai/clip-vit-base-patch32 (HuggingFace). Nothing is downloaded at run time: see docs/weights.md"
            + " (section CLIP) for how to get them, then pass --clip DIR or set "
            + ENV_VAR
            + " (default "
            + DEFAULT_DIR
            + ").");
  }
}
