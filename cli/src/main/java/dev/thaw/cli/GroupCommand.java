package dev.thaw.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * A command that only groups subcommands ({@code thaw snapshot}, {@code thaw store}, {@code thaw bench}):
 * run alone, it is a usage error that lists the subcommands.
 */
abstract class GroupCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "choose one of: " + String.join(", ", spec.subcommands().keySet()));
    }
}
