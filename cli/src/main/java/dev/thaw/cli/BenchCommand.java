package dev.thaw.cli;

import picocli.CommandLine.Command;

/** {@code thaw bench}: the group of benchmarks. */
@Command(name = "bench", description = "Runs a benchmark against a running node.",
        subcommands = {ColdStartCommand.class, BenchRunCommand.class, RestoreBenchCommand.class})
final class BenchCommand extends GroupCommand {
}
