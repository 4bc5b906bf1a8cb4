package ai.taco.eval.bench;

import ai.taco.core.clip.ClipTextEncoder;
import java.nio.file.Path;

/** Captions through the Java CLIP text encoder ({@link ClipTextEncoder}: 38 tokens, last_hidden_state). */
final class ClipCaptionEncoder implements CaptionEncoder {

  private final Path dir;
  private final ClipTextEncoder clip;

  ClipCaptionEncoder(Path dir) {
    this.dir = dir;
    this.clip = ClipTextEncoder.load(dir);
    if (clip.width() != WIDTH || clip.sequenceLength() != TOKENS) {
      int w = clip.width();
      int l = clip.sequenceLength();
      clip.close();
      throw new BenchmarkException("TACO reads [" + TOKENS + "," + WIDTH + "] CLIP text features; " + dir + " gives ["
          + l + "," + w + "] (use openai/clip-vit-base-patch32)");
    }
  }

  @Override
  public String source() {
    return "CLIP text encoder " + dir.getFileName();
  }

  @Override
  public boolean usesCaptions() {
    return true;
  }

  @Override
  public TextEmbedding encode(String imageName, String caption) {
    return new TextEmbedding(clip.encode(caption), TOKENS, WIDTH, "clip");
  }

  @Override
  public void close() {
    clip.close();
  }
}
