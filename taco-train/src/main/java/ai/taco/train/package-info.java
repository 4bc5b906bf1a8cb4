/**
 * Training TACO with the joint image-text loss. A library: LPIPS, the CLIP towers and the test metrics come in through
 * interfaces.
 */
package ai.taco.train;
