/**
 * The TACO codec's API: {@code TacoCodec} (built with {@code TacoCodec.builder()}), its options, {@code TacoConfig},
 * {@code ScaleTable}, {@code CaptionEncoder}, and {@code TacoModel} for training. The model's components ({@code
 * Hyperprior}, {@code ContextModel}) are package-private.
 */
package ai.taco.core;
