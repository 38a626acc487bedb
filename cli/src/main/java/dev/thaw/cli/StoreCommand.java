package dev.thaw.cli;

import dev.thaw.client.ThawClient;
import picocli.CommandLine.Command;

/** {@code thaw store gc}: removes chunks no snapshot references. */
@Command(name = "store", description = "Maintains the snapshot store.", subcommands = StoreCommand.Gc.class)
final class StoreCommand extends GroupCommand {


    /** {@code thaw store gc}. */
    @Command(name = "gc", description = "Deletes chunks that no snapshot references (chunks written recently are kept).")
    static final class Gc extends ClientCommand {
        @Override
        int run(ThawClient client) {
            out().println(ErrorReporter.prettyJson(client.storeGc()));
            return 0;
        }
    }
}
