package dev.thaw.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code thaw bench}: the group of benchmarks. */
@Command(name = "bench", description = "Runs a benchmark against a running node.",
        subcommands = ColdStartCommand.class)
final class BenchCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "choose a benchmark: cold-start");
    }
}
