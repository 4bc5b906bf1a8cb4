/** Training TACO with the joint image-text loss. */
package ai.taco.train;
