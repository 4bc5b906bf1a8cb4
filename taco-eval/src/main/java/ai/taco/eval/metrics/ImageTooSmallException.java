package ai.taco.eval.metrics;

/**
 * MS-SSIM needs a short side above {@link MsSsim#MIN_SIDE_EXCLUSIVE} pixels: its 11-tap window must still fit after four
 * 2x downsamplings. TACO's evaluation falls back to resizing both images to 256 when this is thrown.
 */
public final class ImageTooSmallException extends MetricException {
  private static final long serialVersionUID = 1L;

  private final int shortSide;

  public ImageTooSmallException(int shortSide) {
    super("MS-SSIM needs the short image side > " + MsSsim.MIN_SIDE_EXCLUSIVE + " pixels (11-tap window after 4 "
        + "downsamplings), got " + shortSide);
    this.shortSide = shortSide;
  }

  public int shortSide() {
    return shortSide;
  }
}
