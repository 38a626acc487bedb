package dev.thaw.cli;

import dev.thaw.client.ThawClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code thaw evict}: stops idle instances so the next invocation is a cold start. */
@Command(name = "evict", description = "Stops a function's idle instances; the next invocation starts cold.")
final class EvictCommand extends ClientCommand {

    @Parameters(index = "0", paramLabel = "NAME", description = "Function name.")
    String name;

    @Override
    int run(ThawClient client) {
        int evicted = client.evict(name);
        out().println("evicted " + evicted + (evicted == 1 ? " instance" : " instances") + " of " + name);
        return 0;
    }
}
