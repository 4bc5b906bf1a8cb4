package ai.taco.eval.cli;

import ai.taco.core.TacoCodec;
import ai.taco.core.TacoConfig;
import ai.taco.core.ScaleTable;
import ai.taco.core.Tiling;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options shared by {@code taco compress} and {@code taco decompress}: weights, preset, scale table, overwrite. */
public final class CodecOptions {

  @Option(
      names = "--weights",
      required = true,
      paramLabel = "W",
      description = "Official TACO checkpoint (.pth/.pth.tar, 'module.' prefixes allowed) or safetensors with the"
          + " official key names (docs/weights.md).")
  Path weights;

  @Option(
      names = "--preset",
      paramLabel = "NAME",
      description = "Architecture of the weights: full (the paper's), small or tiny (default: inferred from the"
          + " weights' shapes).")
  String preset;

  @Option(
      names = "--tile",
      paramLabel = "PX",
      defaultValue = "1024",
      description = "Run gA/gS over tiles of PX×PX pixels (a multiple of 16; 0: whole image at once). Bounds memory;"
          + " the result does not depend on it up to float rounding (default 1024, docs/performance.md).")
  int tile;

  @Option(
      names = "--sub-tile",
      paramLabel = "PX",
      defaultValue = "512",
      description = "Edge of the sub-tiles the full-resolution layers run in (a multiple of 16, at most --tile;"
          + " default 512).")
  int subTile;

  @Option(
      names = "--max-pixels",
      paramLabel = "N",
      description = "Refuse images (and coded files) above N pixels (W×H), from the header, before decoding anything;"
          + " 0 = no limit (default ${DEFAULT-VALUE}: Pillow's decompression-bomb threshold).")
  long maxPixels = ai.taco.core.io.Images.DEFAULT_MAX_PIXELS;

  @Option(
      names = "--force",
      description = "Overwrite the output file if it exists.")
  boolean force;

  public CodecOptions() {}

  /** The --tile and --sub-tile options as a {@link Tiling}. */
  Tiling tiling() {
    return tiling(tile, subTile);
  }

  /** {@code tile} 0: untiled; else sub-tiles of {@code subTile} pixels, at most the tile. */
  static Tiling tiling(int tile, int subTile) {
    if (tile == 0) {
      return Tiling.NONE;
    }
    if (tile < 0 || tile % Tiling.ALIGN != 0 || subTile <= 0 || subTile % Tiling.ALIGN != 0) {
      throw new IllegalArgumentException("--tile " + tile + " and --sub-tile " + subTile + " must be positive multiples"
          + " of " + Tiling.ALIGN + " (--tile 0: untiled)");
    }
    return new Tiling(tile, Math.min(tile, subTile));
  }

  /** A codec builder: the weights, the tiling, and the preset if one was given (else the architecture is inferred). */
  TacoCodec.Builder builder() {
    TacoCodec.Builder b = TacoCodec.builder().setWeights(weights()).optTiling(tiling()).optMaxPixels(maxPixels);
    return preset == null ? b : b.optConfig(TacoConfig.preset(preset));
  }

  Path weights() {
    ai.taco.core.io.InputFiles.requireRegular(weights, "weights file", IllegalArgumentException::new);
    return weights;
  }

  static ScaleTable scaleTable(String id) {
    ScaleTable t = ScaleTable.fromId(id);
    if (t == null) {
      throw new IllegalArgumentException("unknown --scale-table '" + id + "' (torch1, torch2)");
    }
    return t;
  }

  /** Fails early (before any work) if {@code out} exists and --force was not given, or cannot be written. */
  void checkOutput(Path out) {
    checkOutput(out, null);
  }

  /** As {@link #checkOutput(Path)}, and refuses to write over the command's own input {@code in}. */
  void checkOutput(Path out, Path in) {
    try {
      if (in != null && Files.exists(out) && Files.exists(in) && Files.isSameFile(in, out)) {
        throw new IllegalArgumentException(out + " is the input file; choose another output");
      }
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("cannot check " + out + ": " + e.getMessage(), e);
    }
    OutputPaths.check(out, force);
  }
}
