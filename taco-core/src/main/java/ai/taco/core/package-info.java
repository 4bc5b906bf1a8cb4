/** The TACO codec: networks, entropy models, weights and file formats. Entry point: {@code TacoCodec}. */
package ai.taco.core;
