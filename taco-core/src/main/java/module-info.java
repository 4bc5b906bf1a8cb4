/**
 * TACO on DJL. Exported, the API (at most 25 public types): {@code ai.taco.core} (TacoCodec and its builder and
 * options, Precision, TacoConfig, Tiling, CaptionEncoder and its CLIP implementation ClipTextEncoder,
 * TacoTranslatorFactory for DJL's Criteria, TacoModel for training), {@code ai.taco.core.error} (TacoException and the
 * errors users catch), {@code ai.taco.core.tensor} (HostTensor), {@code ai.taco.core.image} (Images) and {@code
 * ai.taco.core.bitstream} (TacoFile, CompressAiFile, ScaleTable). Not exported (public only for TACO-J's other modules
 * on the class path): the weights readers ({@code weights}), file safety ({@code files}), CLIP's towers ({@code
 * clip}), the layers ({@code nn}), the transforms ({@code transform}) and the latent path ({@code latent}:
 * hyperprior, context model, entropy models).
 */
module ai.taco.core {
  requires transitive ai.djl.api;
  requires transitive java.desktop;
  requires transitive ai.taco.entropy;
  requires ai.djl.tokenizers;
  requires ai.djl.pytorch_engine; // LibTorch: where libtorch lives, to switch NNPACK off
  requires com.sun.jna;
  requires java.management; // MemoryBudget: physical memory size
  requires jdk.management;
  requires pickle;
  requires com.fasterxml.jackson.databind;
  requires org.slf4j;

  exports ai.taco.core;
  exports ai.taco.core.error;
  exports ai.taco.core.tensor;
  exports ai.taco.core.image;
  exports ai.taco.core.bitstream;
}
