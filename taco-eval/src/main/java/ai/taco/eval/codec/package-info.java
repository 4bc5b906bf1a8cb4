/**
 * {@link ai.taco.eval.codec.CodecSpec}: how to build one TACO codec, the settings every command, job and plan shares.
 * The bottom of taco-eval's packages (the engine in {@code bench} and the plan in {@code ai.taco.eval} both read it).
 */
package ai.taco.eval.codec;
