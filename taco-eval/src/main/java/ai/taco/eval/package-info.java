/** Metrics, benchmarks and the command line. */
package ai.taco.eval;
