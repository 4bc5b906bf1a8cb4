/**
 * The benchmark engine as a library: an {@link ai.taco.eval.EvalPlan} run by {@link ai.taco.eval.Evaluation}
 * ({@code ai.taco.eval.bench}: runner, datasets, codecs, results, plots, reference points, workloads), and the option
 * mixins the two applications share ({@code ai.taco.eval.options}, the only code that touches picocli).
 */
package ai.taco.eval;
