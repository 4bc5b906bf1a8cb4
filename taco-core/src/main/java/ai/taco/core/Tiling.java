package ai.taco.core;

/**
 * How gA and gS are run over a large image: in tiles no larger, halo included, than a {@code tile}×{@code tile}
 * square of image pixels (shaped to fit the image: the grid with the least halo work), each tile's highest-resolution
 * layers again in sub-tiles bounded the same way by {@code subTile}, every tile with a halo covering the receptive
 * field of the layers it runs ({@code TiledAnalysis}, {@code TiledSynthesis}, internal). Peak memory then follows the
 * tile size, not the image size. The result equals the untiled transform up to float summation order; nothing of it
 * is recorded in the bitstream, so encoder and decoder choose independently.
 *
 * <p>Default and its trade-off (halo overhead against working set): docs/performance.md, "Large images".
 *
 * @param tile edge of a tile in image pixels, a positive multiple of {@link #ALIGN}
 * @param subTile edge of a sub-tile in image pixels, a positive multiple of {@link #ALIGN}, at most {@code tile}
 */
public record Tiling(int tile, int subTile) {
  /** gA downsamples 16 times: tile edges on this grid keep every strided layer's sampling grid. */
  public static final int ALIGN = 16;

  /** Default: 1024-pixel tiles, 512-pixel sub-tiles. */
  public static final Tiling DEFAULT = new Tiling(1024, 512);

  /** No tiling: the whole image in one pass (the untiled transforms). */
  public static final Tiling NONE = new Tiling(Integer.MAX_VALUE & -ALIGN, Integer.MAX_VALUE & -ALIGN);

  public Tiling {
    if (tile <= 0 || tile % ALIGN != 0 || subTile <= 0 || subTile % ALIGN != 0 || subTile > tile) {
      throw new IllegalArgumentException("tile " + tile + " and sub-tile " + subTile + " must be positive multiples of "
          + ALIGN + " with sub-tile <= tile");
    }
  }

  /** True when an image of {@code height}×{@code width} pixels fits one tile and one sub-tile: no tiling happens. */
  public boolean covers(long height, long width) {
    return height <= subTile && width <= subTile;
  }
}
