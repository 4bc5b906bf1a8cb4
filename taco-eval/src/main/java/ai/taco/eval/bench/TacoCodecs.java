package ai.taco.eval.bench;

import ai.taco.eval.codec.CodecSpec;
import ai.taco.core.CaptionEncoder;
import ai.taco.core.TacoConfig;
import ai.taco.core.ClipTextEncoder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Opens TACO checkpoints as {@link ImageCodec}s and picks the caption encoder. */
public final class TacoCodecs {

  /** Width of the text features the evaluated checkpoints read (CLIP ViT-B/32, the paper's text encoder). */
  static final int TEXT_WIDTH = TacoConfig.FULL.textDim();

  private TacoCodecs() {}

  /** One codec per checkpoint; each loads its weights on first use and frees them when the runner closes it. */
  public static List<ImageCodec> open(List<CodecSpec> specs, TacoImageCodec.Container container) {
    List<ImageCodec> out = new ArrayList<>();
    for (CodecSpec s : specs) {
      out.add(new TacoImageCodec(s, container));
    }
    return out;
  }

  /**
   * @param noTextCodec true when no codec reads text (then zeros are returned and never used)
   * @param clipDir CLIP folder for the text encoder, or null
   * @param embeddingsFile precomputed embeddings, or null
   */
  public static CaptionEncoder captionEncoder(boolean noTextCodec, Path clipDir, Path embeddingsFile) {
    if (noTextCodec) {
      return CaptionEncoder.zeros(TEXT_WIDTH);
    }
    if (clipDir != null && embeddingsFile != null) {
      throw new BenchmarkException("give either --clip or --text-embeddings, not both");
    }
    if (clipDir != null) {
      ClipTextEncoder clip = ClipTextEncoder.load(clipDir);
      if (clip.width() != TEXT_WIDTH || clip.sequenceLength() != CaptionEncoder.TOKENS) {
        int w = clip.width();
        int l = clip.sequenceLength();
        clip.close();
        throw new BenchmarkException("TACO reads [" + CaptionEncoder.TOKENS + "," + TEXT_WIDTH + "] CLIP text features; "
            + clipDir + " gives [" + l + "," + w + "] (use openai/clip-vit-base-patch32)");
      }
      return clip;
    }
    if (embeddingsFile != null) {
      return new PrecomputedCaptionEncoder(embeddingsFile);
    }
    return CaptionEncoder.zeros(TEXT_WIDTH);
  }
}
