package ai.taco.eval.options;

import ai.taco.core.image.Images;
import ai.taco.eval.codec.CodecSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The codec options of every command and job that runs TACO (compress, decompress, demo, bench, eval and their Spark
 * jobs) as a picocli mixin; {@link #spec()} / {@link #specs()} turn them into {@link CodecSpec}s.
 */
public final class CodecOptions {

  @Option(names = "--weights", arity = "1..*", paramLabel = "W",
      description = "TACO checkpoint (official .pth/.pth.tar, 'module.' prefixes allowed, or safetensors with the"
          + " official key names, docs/weights.md); taco eval takes several, one rate point each.")
  List<Path> weights = new ArrayList<>();

  @Option(names = "--preset", paramLabel = "NAME",
      description = "Architecture of the weights: full (the paper's), small or tiny (default: inferred from the"
          + " weights' shapes).")
  String preset;

  @Option(names = "--scale-table", paramLabel = "torch1|torch2",
      description = "Gaussian scale-table variant (docs/bitstream.md); default torch1 (decompress: the one the file"
          + " records).")
  String scaleTable;

  @Option(names = "--device", paramLabel = "DEV",
      description = "DJL device of the codec: cpu, gpu, gpu(1)... (default: the engine's default device).")
  String device;

  @Option(names = "--tile", paramLabel = "PX", defaultValue = "1536",
      description = "Run gA over tiles of PX×PX pixels, gS over tiles as large but at most 1024 (a multiple of 16;"
          + " 0: whole image at once). Bounds memory; the result does not depend on it up to float rounding"
          + " (default 1536, docs/performance.md).")
  int tile;

  @Option(names = "--sub-tile", paramLabel = "PX", defaultValue = "512",
      description = "Edge of the sub-tiles the full-resolution layers run in (a multiple of 16, at most --tile;"
          + " default 512).")
  int subTile;

  @Option(names = "--precision", paramLabel = "P", defaultValue = CodecSpec.FP32,
      description = "Arithmetic of gA/gS: fp32 (default; the official bitstreams), bf16 (CPUs with AVX-512 BF16 or"
          + " AMX), fp16 (CUDA). hA, hS and the entropy models stay fp32, so any decoder reads the file"
          + " (docs/performance.md).")
  String precision;

  @Option(names = "--max-pixels", paramLabel = "N",
      description = "Refuse images (and coded files) above N pixels (W×H), from the header, before decoding anything;"
          + " 0 = no limit (default ${DEFAULT-VALUE}: Pillow's decompression-bomb threshold).")
  long maxPixels = Images.DEFAULT_MAX_PIXELS;

  public CodecOptions() {}

  /** The --max-pixels limit (0: none), for reading the input image before a codec exists. */
  public long maxPixels() {
    return maxPixels;
  }

  /** Whether --weights was given. */
  public boolean hasWeights() {
    return !weights.isEmpty();
  }

  /** The raw --scale-table (null when not given). */
  public String scaleTable() {
    return scaleTable;
  }

  /** The raw --preset (null when not given). */
  public String preset() {
    return preset;
  }

  /** The one codec these options describe (exactly one --weights). */
  public CodecSpec spec() {
    if (weights.size() != 1) {
      throw new IllegalArgumentException(weights.isEmpty() ? "--weights is required"
          : "give one --weights (" + weights.size() + " given)");
    }
    return spec(weights.get(0));
  }

  /** One codec per --weights, in order. */
  public List<CodecSpec> specs() {
    List<CodecSpec> out = new ArrayList<>();
    for (Path w : weights) {
      out.add(spec(w));
    }
    return out;
  }

  /** The codec of {@code w} with these options (commands with default weights). */
  public CodecSpec spec(Path w) {
    return new CodecSpec(w.toString(), preset, scaleTable, device, tile, subTile, precision, maxPixels);
  }
}
