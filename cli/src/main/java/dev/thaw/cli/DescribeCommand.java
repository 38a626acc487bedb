package dev.thaw.cli;

import dev.thaw.client.ThawClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code thaw describe}: everything the node knows about a function, as JSON. */
@Command(name = "describe", description = "Shows a function's details as JSON.")
final class DescribeCommand extends ClientCommand {

    @Parameters(index = "0", paramLabel = "NAME", description = "Function name.")
    String name;

    @Override
    int run(ThawClient client) {
        out().println(ErrorReporter.prettyJson(client.describe(name)));
        return 0;
    }
}
