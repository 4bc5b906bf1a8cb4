package ai.taco.cli;

import java.util.concurrent.Callable;

/** A subcommand of the {@code taco} tool: a picocli {@code @Command} class, listed in {@link TacoCli#SUBCOMMANDS}. */
public interface TacoCommand extends Callable<Integer> {}
