package ai.taco.core;

/**
 * How gA and gS are run over a large image: in tiles no larger, halo included, than a square of image pixels
 * (shaped to fit the image: the grid with the least halo work), each tile's highest-resolution layers again in
 * sub-tiles bounded the same way by {@code subTile}, every tile with a halo covering the receptive field of the
 * layers it runs ({@code TiledAnalysis}, {@code TiledSynthesis}, internal). Peak memory then follows the tile size,
 * not the image size. The result equals the untiled transform up to float summation order; nothing of it is recorded
 * in the bitstream, so encoder and decoder choose independently.
 *
 * <p>gA and gS have their own tile edge: a gS tile holds more maps per pixel (its attention block and bottlenecks at
 * 1/4 resolution run per tile, with N channels), a gA tile fewer (its full-resolution head runs per sub-tile), and a
 * larger tile pays less halo. Defaults and their trade-off (halo work against working set): docs/performance.md,
 * "Large images".
 *
 * @param tile edge of a gA tile in image pixels, a positive multiple of {@link #ALIGN}
 * @param subTile edge of a sub-tile in image pixels, a positive multiple of {@link #ALIGN}, at most either tile
 * @param synthesisTile edge of a gS tile in image pixels, a positive multiple of {@link #ALIGN}
 */
public record Tiling(int tile, int subTile, int synthesisTile) {
  /** gA downsamples 16 times: tile edges on this grid keep every strided layer's sampling grid. */
  public static final int ALIGN = 16;

  /**
   * Default: 1536-pixel gA tiles, 1024-pixel gS tiles, 512-pixel sub-tiles. At 7680×4320 gA's 1536-pixel tile ran
   * 14 % faster than a 1024-pixel one for about the same peak; a 1536-pixel gS tile was no faster than 1024 and
   * peaked 300 MiB higher (docs/performance.md, "Large images").
   */
  public static final Tiling DEFAULT = new Tiling(1536, 512, 1024);

  /** No tiling: the whole image in one pass (the untiled transforms). */
  public static final Tiling NONE = new Tiling(Integer.MAX_VALUE & -ALIGN, Integer.MAX_VALUE & -ALIGN);

  public Tiling {
    if (tile <= 0 || tile % ALIGN != 0 || subTile <= 0 || subTile % ALIGN != 0 || synthesisTile <= 0
        || synthesisTile % ALIGN != 0 || subTile > tile || subTile > synthesisTile) {
      throw new IllegalArgumentException("tiles " + tile + " (gA) and " + synthesisTile + " (gS) and sub-tile "
          + subTile + " must be positive multiples of " + ALIGN + " with the sub-tile at most either tile");
    }
  }

  /** The same tile edge for gA and gS. */
  public Tiling(int tile, int subTile) {
    this(tile, subTile, tile);
  }

  /** True when an image of {@code height}×{@code width} pixels fits one tile and one sub-tile: no tiling happens. */
  public boolean covers(long height, long width) {
    return height <= subTile && width <= subTile;
  }
}
