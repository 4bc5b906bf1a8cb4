package ai.taco.eval.codec;

import ai.djl.Device;
import ai.taco.core.tensor.Precision;
import ai.taco.core.TacoCodec;
import ai.taco.core.TacoConfig;
import ai.taco.core.Tiling;
import ai.taco.core.bitstream.ScaleTable;
import ai.taco.core.files.InputFiles;
import ai.taco.core.image.Images;
import java.io.Serializable;
import java.nio.file.Path;

/**
 * How to build one {@link TacoCodec}: the settings every command and job that runs the codec takes, and
 * {@link #build()}, the one place that turns them into a codec. Serializable (Spark ships it; paths as strings, as
 * {@link Path} is not serializable) and a plain record for JSON.
 *
 * @param weights checkpoint (official .pth/.pth.tar or safetensors with the official key names)
 * @param preset architecture of the weights: full, small or tiny; null: inferred from the weights' shapes
 * @param scaleTable Gaussian scale-table id (torch1, torch2); null: {@link ScaleTable#defaultTable()}
 * @param device DJL device name (cpu, gpu, gpu(1)); null: the engine's default device
 * @param tile edge of the gA tiles in pixels (gS: as many, at most {@link Tiling#DEFAULT}'s), a multiple of {@link
 *     Tiling#ALIGN}; 0: the whole image at once
 * @param subTile edge of the sub-tiles of the full-resolution layers (a multiple of {@link Tiling#ALIGN}, at most
 *     {@code tile})
 * @param maxPixels largest W×H the codec takes, images and coded files alike ({@code Images.DEFAULT_MAX_PIXELS} by
 *     default; 0: no limit; {@link TacoCodec.Builder#optMaxPixels})
 * @param precision gA/gS arithmetic ({@link Precision#id()}: fp32, bf16, fp16); null: {@value #FP32}
 */
public record CodecSpec(String weights, String preset, String scaleTable, String device, int tile, int subTile,
    String precision, long maxPixels) implements Serializable {

  private static final long serialVersionUID = 1L;

  /** Float32 everywhere: the default, and the precision the codec's parity is proven in. */
  public static final String FP32 = "fp32";

  /** The defaults of every command: weights only, architecture inferred, {@link Tiling#DEFAULT}, float32. */
  public static CodecSpec of(Path weights) {
    return new CodecSpec(weights.toString(), null, null, null, Tiling.DEFAULT.tile(), Tiling.DEFAULT.subTile(), FP32);
  }

  /** A spec with the default pixel limit ({@link Images#DEFAULT_MAX_PIXELS}). */
  public CodecSpec(String weights, String preset, String scaleTable, String device, int tile, int subTile,
      String precision) {
    this(weights, preset, scaleTable, device, tile, subTile, precision, Images.DEFAULT_MAX_PIXELS);
  }

  public CodecSpec {
    if (maxPixels < 0) {
      throw new IllegalArgumentException("--max-pixels must be >= 0 (0: no limit), got " + maxPixels);
    }
    if (weights == null) {
      throw new IllegalArgumentException("a codec needs weights (--weights)");
    }
    precision = precision == null ? FP32 : Precision.parse(precision).id(); // an unknown name fails here
    if (preset != null) {
      TacoConfig.preset(preset); // an unknown name fails here, with the presets listed
    }
    if (scaleTable != null && ScaleTable.fromId(scaleTable) == null) {
      throw new IllegalArgumentException("unknown --scale-table '" + scaleTable + "' (torch1, torch2)");
    }
    tiling(tile, subTile);
  }

  /** This spec with another scale table (a file records the one it was coded with). */
  public CodecSpec withScaleTable(String id) {
    return new CodecSpec(weights, preset, id, device, tile, subTile, precision, maxPixels);
  }

  public Path weightsPath() {
    return Path.of(weights);
  }

  /** The architecture, or null when it is to be inferred from the weights. */
  public TacoConfig config() {
    return preset == null ? null : TacoConfig.preset(preset);
  }

  /** The scale table ({@link ScaleTable#defaultTable()} when none was named). */
  public ScaleTable table() {
    return scaleTable == null ? ScaleTable.defaultTable() : ScaleTable.fromId(scaleTable);
  }

  public Precision precisionValue() {
    return Precision.parse(precision);
  }

  public Tiling tiling() {
    return tiling(tile, subTile);
  }

  /** Loads the weights and builds the codec: the one builder path of every command and job. */
  public TacoCodec build() {
    InputFiles.requireRegular(weightsPath(), "weights file", IllegalArgumentException::new);
    TacoCodec.Builder b = TacoCodec.builder().setWeights(weightsPath()).optScaleTable(table()).optTiling(tiling())
        .optPrecision(precisionValue()).optMaxPixels(maxPixels);
    if (preset != null) {
      b.optConfig(config());
    }
    if (device != null) {
      b.optDevice(Device.fromName(device));
    }
    return b.build();
  }

  /**
   * {@code tile} 0: untiled; else gA tiles of {@code tile} pixels, gS tiles of as many but at most {@link
   * Tiling#DEFAULT}'s (a gS tile holds more per pixel), sub-tiles of {@code subTile} pixels, at most the tiles.
   */
  public static Tiling tiling(int tile, int subTile) {
    if (tile == 0) {
      return Tiling.NONE;
    }
    if (tile < 0 || tile % Tiling.ALIGN != 0 || subTile <= 0 || subTile % Tiling.ALIGN != 0) {
      throw new IllegalArgumentException("--tile " + tile + " and --sub-tile " + subTile + " must be positive multiples"
          + " of " + Tiling.ALIGN + " (--tile 0: untiled)");
    }
    int synthesisTile = Math.min(tile, Tiling.DEFAULT.synthesisTile());
    return new Tiling(tile, Math.min(synthesisTile, subTile), synthesisTile);
  }
}
