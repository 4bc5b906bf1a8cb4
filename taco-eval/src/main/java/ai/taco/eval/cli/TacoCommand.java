package ai.taco.eval.cli;

import java.util.concurrent.Callable;

/**
 * A subcommand of the {@code taco} tool. Implementations are picocli {@code @Command} classes with a public no-arg
 * constructor, listed in {@code META-INF/services/ai.taco.eval.cli.TacoCommand} of the module that owns them (this
 * lets taco-train add {@code train} without a dependency cycle).
 */
public interface TacoCommand extends Callable<Integer> {}
