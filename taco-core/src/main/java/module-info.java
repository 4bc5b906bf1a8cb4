/**
 * TACO on DJL. Exported: {@code ai.taco.core} (TacoCodec and its options, TacoConfig, ScaleTable, CaptionEncoder,
 * TacoModel for training), {@code ai.taco.core.io} (files, images, weights) and {@code ai.taco.core.clip} (CLIP's text
 * and vision towers). Internal: the layers ({@code ai.taco.core.nn}), the TACO transforms ({@code
 * ai.taco.core.transform}) and the latent path ({@code ai.taco.core.latent}: hyperprior, context model, entropy
 * models).
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
  exports ai.taco.core.io;
  exports ai.taco.core.clip;
}
