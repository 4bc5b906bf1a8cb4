package ai.taco.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.taco.core.ClipTextEncoder;
import ai.taco.core.clip.ClipFiles;
import ai.taco.core.tensor.HostTensor;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * Picocli mixin for commands that read a caption through CLIP ({@code taco compress}): {@code --clip DIR} and {@code
 * --caption TEXT}. Add it with {@code @Mixin ClipCaptionOptions clip;} and call {@link #encodeTensor()} (or {@link
 * #encode(NDManager)}) for the {@code [1, 38, width]} caption features TACO's encoder takes.
 */
public final class ClipCaptionOptions {

  @Option(
      names = "--clip",
      paramLabel = "DIR",
      description =
          "HuggingFace CLIP directory (config.json, model.safetensors, tokenizer.json of openai/clip-vit-base-patch32)."
              + " Default: $"
              + ClipFiles.ENV_VAR
              + ", else models/clip-vit-base-patch32. Nothing is downloaded (docs/weights.md).")
  Path clip;

  @Option(
      names = "--caption",
      paramLabel = "TEXT",
      description = "The image's caption (any length; CLIP keeps its first 36 tokens). May be empty.")
  String caption;

  public ClipCaptionOptions() {}

  /** Whether {@code --caption} was given. */
  public boolean hasCaption() {
    return caption != null;
  }

  /** The caption, refused if the command line bytes were not valid UTF-8 (see {@link CommandLineText}). */
  public String caption() {
    return CommandLineText.caption("--caption", caption);
  }

  /** The CLIP directory after flag / environment / default resolution. */
  public Path clipDirectory() {
    return ClipFiles.resolveDirectory(clip);
  }

  /** Loads the caption encoder (for callers that encode several captions). */
  public ClipTextEncoder openEncoder() {
    return ClipTextEncoder.load(clipDirectory());
  }

  /**
   * Loads CLIP, encodes {@code --caption} and frees CLIP again.
   *
   * @return {@code [1, 38, width]} float32 host tensor, ready for {@code TacoCodec.compress(image, text)}
   * @throws IllegalStateException if no caption was given
   */
  public HostTensor encodeTensor() {
    String text = requireCaption();
    try (ClipTextEncoder encoder = openEncoder()) {
      return encoder.encodeTensor(text);
    }
  }

  private String requireCaption() {
    if (caption == null) {
      throw new IllegalStateException("no --caption given");
    }
    return caption();
  }

  /**
   * Loads CLIP, encodes {@code --caption} and frees CLIP again.
   *
   * @return {@code [1, 38, width]} last_hidden_state on {@code manager}
   * @throws IllegalStateException if no caption was given
   */
  public NDArray encode(NDManager manager) {
    String text = requireCaption();
    try (ClipTextEncoder encoder = openEncoder()) {
      return encoder.encode(manager, text);
    }
  }
}
