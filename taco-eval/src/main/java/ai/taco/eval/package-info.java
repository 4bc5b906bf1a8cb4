/** Metrics, benchmarks and the `taco` command line: the application module (every subcommand, including training). */
package ai.taco.eval;
