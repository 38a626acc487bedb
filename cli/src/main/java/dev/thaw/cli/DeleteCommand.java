package dev.thaw.cli;

import dev.thaw.client.ThawClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code thaw delete}: removes a function with its instances and snapshot. */
@Command(name = "delete", description = "Deletes a function, its instances and its snapshot.")
final class DeleteCommand extends ClientCommand {

    @Parameters(index = "0", paramLabel = "NAME", description = "Function name.")
    String name;

    @Override
    int run(ThawClient client) {
        long version = client.delete(name);
        out().println("deleted " + name + " (version " + version + ")");
        return 0;
    }
}
