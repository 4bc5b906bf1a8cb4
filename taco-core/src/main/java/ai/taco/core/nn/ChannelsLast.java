package ai.taco.core.nn;

import ai.djl.ndarray.NDArray;

/**
 * Image tensors keep their logical NCHW shape but are stored channels-last (NHWC strides), as PyTorch's
 * {@code memory_format=torch.channels_last}. libtorch's oneDNN convolutions read and write that layout directly and
 * elementwise ops preserve it, so the token views needed by 1×1 convolutions and the text adapters ([B,H·W,C]) are
 * free reshapes instead of strided copies of the whole feature map (docs/performance.md, "Layout"). Values are
 * unaffected; a tensor in the other layout still works, it just gets copied where a view is impossible.
 */
public final class ChannelsLast {
  private ChannelsLast() {}

  /** x [B,C,H,W] stored channels-last (a copy only when it is not already). */
  public static NDArray of(NDArray x) {
    long[] s = x.getShape().getShape();
    // reshape(-1) of the NHWC view is a view when the storage is already NHWC, else one contiguous copy.
    return x.transpose(0, 2, 3, 1).reshape(-1).reshape(s[0], s[2], s[3], s[1]).transpose(0, 3, 1, 2);
  }

  /** x [B,C,H,W] as tokens [B, H·W, C] (a view for channels-last storage). */
  public static NDArray tokens(NDArray x) {
    long[] s = x.getShape().getShape();
    return x.transpose(0, 2, 3, 1).reshape(s[0], s[2] * s[3], s[1]);
  }

  /** Tokens [B, H·W, C] (or [B·H·W, C]) back to [B,C,H,W], stored channels-last (a view). */
  public static NDArray image(NDArray tokens, long b, long h, long w) {
    long c = tokens.getShape().get(tokens.getShape().dimension() - 1);
    return tokens.reshape(b, h, w, c).transpose(0, 3, 1, 2);
  }
}
