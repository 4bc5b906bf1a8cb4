package ai.taco.metrics;

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

  /** Another metric's minimum size (e.g. PieAPP's 64-px patches); {@code message} names the metric and the limit. */
  public ImageTooSmallException(String message, int shortSide) {
    super(message);
    this.shortSide = shortSide;
  }

  public int shortSide() {
    return shortSide;
  }
}
