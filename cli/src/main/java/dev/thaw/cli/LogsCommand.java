package dev.thaw.cli;

import dev.thaw.client.ThawClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code thaw logs}: the function's recent log lines. */
@Command(name = "logs", description = "Prints a function's last log lines (stdout/stderr, START/END/REPORT).")
final class LogsCommand extends ClientCommand {

    @Parameters(index = "0", paramLabel = "NAME", description = "Function name.")
    String name;

    @Option(names = "--tail", paramLabel = "N", defaultValue = "200", description = "How many lines (default ${DEFAULT-VALUE}).")
    int tail;

    @Override
    int run(ThawClient client) {
        String logs = client.logs(name, tail);
        out().print(logs.isEmpty() || logs.endsWith("\n") ? logs : logs + System.lineSeparator());
        return 0;
    }
}
