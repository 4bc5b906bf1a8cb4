/**
 * The TACO codec's API: {@code TacoCodec} (built with {@code TacoCodec.builder()}), its options, {@code TacoConfig},
 * {@code ScaleTable}, {@code CaptionEncoder}, and {@code TacoModel} for training. The model's latent path ({@code
 * Hyperprior}, {@code ContextModel}, the entropy models) is the internal package {@code ai.taco.core.latent}.
 */
package ai.taco.core;
