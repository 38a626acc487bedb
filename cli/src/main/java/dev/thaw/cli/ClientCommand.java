package dev.thaw.cli;

import dev.thaw.client.ThawClient;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** A subcommand that talks to a node: opens a client of {@code --url}, runs, closes it. */
abstract class ClientCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Override
    public final Integer call() throws Exception {
        try (ThawClient client = cli().connect()) {
            return run(client);
        } finally {
            // print() does not flush picocli's writers and main() ends with System.exit.
            out().flush();
            err().flush();
        }
    }

    /** @return the exit code */
    abstract int run(ThawClient client) throws Exception;

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /** @return the root command line's settings and factories */
    ThawCli cli() {
        return (ThawCli) spec.root().userObject();
    }
}
