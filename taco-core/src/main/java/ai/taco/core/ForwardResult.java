package ai.taco.core;

import ai.djl.ndarray.NDArray;

/**
 * Output of {@link TacoModel#forward}: the reconstruction and the likelihoods of both latents (official
 * {@code {"x_hat", "likelihoods": {"y_likelihoods", "z_likelihoods"}}}). The rate in bits is
 * {@code -Σ log2(likelihoods)} over both.
 *
 * @param xHat reconstruction [B,3,H,W] (not clamped)
 * @param yLikelihoods [B,M,H/16,W/16]
 * @param zLikelihoods [B,N,H/64,W/64]
 */
public record ForwardResult(NDArray xHat, NDArray yLikelihoods, NDArray zLikelihoods) {}
