package dev.thaw.cli;

import dev.thaw.client.ThawClient;
import java.net.URI;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The {@code thaw} command line. {@code main} runs it; {@link #commandLine(Function)} builds it for
 * tests and for embedding, with a client factory standing in for {@link ThawClient#create(URI)}.
 */
@Command(name = "thaw", mixinStandardHelpOptions = true, scope = ScopeType.INHERIT, version = "thaw 0.1.0-SNAPSHOT",
        description = "A serverless platform for JVM functions whose cold starts restore CRIU snapshots.",
        subcommands = {UpCommand.class, DeployCommand.class, InvokeCommand.class, ListCommand.class,
                DescribeCommand.class, LogsCommand.class, DeleteCommand.class, EvictCommand.class, AliasCommand.class,
                EventsCommand.class,
                SnapshotCommand.class, StoreCommand.class, BenchCommand.class, CommandLine.HelpCommand.class})
public final class ThawCli implements Runnable {

    @Option(names = "--url", scope = ScopeType.INHERIT, paramLabel = "URL",
            defaultValue = "${env:THAW_URL:-http://127.0.0.1:8080}",
            description = "The node's URL (env THAW_URL, default ${DEFAULT-VALUE}).")
    private URI url;

    private final Function<URI, ThawClient> clients;

    private ThawCli(Function<URI, ThawClient> clients) {
        this.clients = clients;
    }

    /** Runs the command line and exits with its code: 0 ok, 1 failed, 2 usage error. */
    public static void main(String[] args) {
        System.exit(commandLine(ThawClient::create).execute(args));
    }

    /**
     * @param clients makes the client of the node at {@code --url}
     * @return the configured command line; call {@link CommandLine#execute(String...)} on it
     */
    public static CommandLine commandLine(Function<URI, ThawClient> clients) {
        return new CommandLine(new ThawCli(clients))
                .setExecutionExceptionHandler(new ErrorReporter());
    }

    /** Without a subcommand there is nothing to do: show what there is. */
    @Override
    public void run() {
        throw new CommandLine.ParameterException(new CommandLine(this), "choose a command");
    }

    /** @return a new client of the node at {@code --url}; the caller closes it */
    ThawClient connect() {
        return clients.apply(url);
    }
}
