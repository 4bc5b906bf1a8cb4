/** Quantized CDFs and a rANS coder byte-identical to CompressAI 1.2.6 (JDK only). */
module ai.taco.entropy {
  exports ai.taco.entropy;
}
