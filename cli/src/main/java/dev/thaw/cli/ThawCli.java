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
        description = "A serverless platform for JVM functions whose cold starts restore CRIU snapshots.")
public final class ThawCli implements Runnable {
    /**
     * The subcommands, in the order the help lists them. picocli builds a command's model from its
     * annotations by reflection, a third of a second for all of them on a cold JVM: {@link #main}
     * builds only the one a command line names first.
     */
    static final java.util.List<Class<?>> COMMANDS = java.util.List.of(UpCommand.class, DeployCommand.class,
            InvokeCommand.class, ListCommand.class, DescribeCommand.class, LogsCommand.class, DeleteCommand.class,
            EvictCommand.class, AliasCommand.class, EventsCommand.class, ClusterCommand.class, S3ServerCommand.class,
            SnapshotCommand.class, StoreCommand.class, BenchCommand.class, CommandLine.HelpCommand.class);

    @Option(names = "--url", scope = ScopeType.INHERIT, paramLabel = "URL",
            defaultValue = "${env:THAW_URL:-http://127.0.0.1:8080}",
            description = "The node's URL (env THAW_URL, default ${DEFAULT-VALUE}).")
    private URI url;

    @Option(names = "--token-file", scope = ScopeType.INHERIT, paramLabel = "FILE",
            description = "The node's API token (default: env THAW_TOKEN, else .thaw/data/api-token, which `thaw up`"
                    + " creates in its data directory).")
    private java.nio.file.Path tokenFile;

    @picocli.CommandLine.Spec
    private picocli.CommandLine.Model.CommandSpec spec;

    private final java.util.function.BiFunction<URI, String, ThawClient> clients;
    private final Progress.Settings progress;

    private ThawCli(java.util.function.BiFunction<URI, String, ThawClient> clients, Progress.Settings progress) {
        this.clients = clients;
        this.progress = progress;
    }

    /** Runs the command line and exits with its code: 0 ok, 1 failed, 2 usage error. */
    public static void main(String[] args) {
        System.exit(commandLineFor(args, ThawClient::create, Progress.Settings.detect()).execute(args));
    }

    /**
     * @return the command line with only the subcommand {@code args} start with, when they start with
     *     one (help, usage errors and options it inherits behave as in the whole tree), none for the
     *     version alone; else the whole tree
     */
    static CommandLine commandLineFor(String[] args, java.util.function.BiFunction<URI, String, ThawClient> clients,
                                      Progress.Settings progress) {
        if (args.length == 1 && (args[0].equals("--version") || args[0].equals("-V"))) {
            return tree(clients, progress, java.util.List.of()); // the version needs no subcommand
        }
        java.util.Optional<Class<?>> named = args.length == 0 ? java.util.Optional.empty() : COMMANDS.stream()
                .filter(c -> c != CommandLine.HelpCommand.class && c.getAnnotation(Command.class).name().equals(args[0]))
                .findFirst();
        return tree(clients, progress, named.<java.util.List<Class<?>>>map(java.util.List::of).orElse(COMMANDS));
    }

    /**
     * @param clients makes the client of the node at {@code --url} (tests: a fake)
     * @return the configured command line; call {@link CommandLine#execute(String...)} on it
     */
    public static CommandLine commandLine(Function<URI, ThawClient> clients) {
        return commandLine(clients, Progress.Settings.detect());
    }

    /** @param progress how long-running commands report progress on stderr (tests choose) */
    static CommandLine commandLine(Function<URI, ThawClient> clients, Progress.Settings progress) {
        return tree((url, token) -> clients.apply(url), progress, COMMANDS);
    }

    /**
     * @param clients makes the client of the node at {@code --url} with the API token found
     * @return the configured command line; call {@link CommandLine#execute(String...)} on it
     */
    public static CommandLine commandLineWithTokens(java.util.function.BiFunction<URI, String, ThawClient> clients) {
        return tree(clients, Progress.Settings.detect(), COMMANDS);
    }

    /** @return the root command with {@code subcommands} */
    private static CommandLine tree(java.util.function.BiFunction<URI, String, ThawClient> clients, Progress.Settings progress,
                                    java.util.List<Class<?>> subcommands) {
        CommandLine root = new CommandLine(new ThawCli(clients, progress));
        subcommands.forEach(root::addSubcommand);
        withoutNodeOptionsWhereNoNodeIsAsked(root);
        return root.setExecutionExceptionHandler(new ErrorReporter()); // settings reach the subcommands present
    }

    /**
     * A command that starts something on this machine and asks no running node anything ({@code up},
     * {@code cluster up}, {@code s3-server}, {@code bench restore}). {@code --url} and
     * {@code --token-file} would do nothing there, so its help does not offer them and giving one is a
     * usage error instead of a flag silently ignored.
     */
    interface LocalCommand {
    }

    private static void withoutNodeOptionsWhereNoNodeIsAsked(CommandLine command) {
        for (CommandLine sub : command.getSubcommands().values()) {
            if (sub.getCommand() instanceof LocalCommand) {
                for (String name : java.util.List.of("--url", "--token-file")) {
                    CommandLine.Model.OptionSpec inherited = sub.getCommandSpec().findOption(name);
                    if (inherited != null) {
                        sub.getCommandSpec().remove(inherited);
                    }
                }
            }
            withoutNodeOptionsWhereNoNodeIsAsked(sub);
        }
    }

    /** Without a subcommand there is nothing to do: show what there is. */
    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "choose a command");
    }

    /** @return a new client of the node at {@code --url}; the caller closes it */
    ThawClient connect() {
        return clients.apply(url, token());
    }

    /**
     * @return the API token: {@code THAW_TOKEN}, else the {@code --token-file}, else the default data
     *     directory's {@code api-token}; null when there is none (the node then says what it needs)
     */
    String token() {
        String env = System.getenv("THAW_TOKEN");
        if (env != null && !env.isBlank()) {
            return env.strip();
        }
        java.nio.file.Path file = tokenFile != null ? tokenFile : java.nio.file.Path.of(".thaw", "data", "api-token");
        try {
            return java.nio.file.Files.readString(file).strip();
        } catch (java.io.IOException e) {
            if (tokenFile != null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "cannot read the API token from "
                        + tokenFile + ": " + e.getMessage());
            }
            return null;
        }
    }

    /** @return a progress report on {@code err}, starting now */
    Progress progress(java.io.PrintWriter err) {
        return new Progress(err, progress, System::nanoTime);
    }

    /** @return how often a command asks the node what it is doing */
    java.time.Duration pollEvery() {
        return progress.pollEvery();
    }

    /** @return how long-running commands report progress */
    Progress.Settings progressSettings() {
        return progress;
    }
}
