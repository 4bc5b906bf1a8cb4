/**
 * Training TACO with the joint image-text loss. A library: the loss's LPIPS term and CLIP towers come in through
 * interfaces; the per-epoch test measures with taco-metrics ({@link ai.taco.train.ReconstructionMetrics#standard}).
 */
package ai.taco.train;
