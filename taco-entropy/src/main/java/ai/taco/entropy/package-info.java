/** Entropy coding: quantized CDF tables and a rANS coder byte-compatible with CompressAI 1.2.6. */
package ai.taco.entropy;
