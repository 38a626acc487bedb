package dev.thaw.cli;

import dev.thaw.bench.TextTable;
import dev.thaw.client.ThawClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code thaw alias set NAME ALIAS VERSION | list NAME | delete NAME ALIAS}: names for a function's
 * versions, which invocations accept as their qualifier ({@code thaw invoke NAME --qualifier ALIAS}).
 */
@Command(name = "alias", description = "Creates, moves, lists and deletes a function's aliases (names for its versions).",
        subcommands = {AliasCommand.Set.class, AliasCommand.ListAliases.class, AliasCommand.Delete.class})
final class AliasCommand extends GroupCommand {

    /** {@code thaw alias set NAME ALIAS VERSION}. */
    @Command(name = "set", description = "Points ALIAS at VERSION of function NAME (creates it or moves it).")
    static final class Set extends ClientCommand {
        @Parameters(index = "0", paramLabel = "NAME", description = "Function name.")
        String name;

        @Parameters(index = "1", paramLabel = "ALIAS", description = "Alias: letters, digits, '-' or '_', not all digits.")
        String alias;

        @Parameters(index = "2", paramLabel = "VERSION", description = "A version number of the function.")
        long version;

        @Override
        int run(ThawClient client) {
            var before = client.setAlias(name, alias, version);
            out().println(before.isPresent()
                    ? "moved alias " + alias + " of " + name + " from version " + before.getAsLong() + " to " + version
                    : "created alias " + alias + " of " + name + " -> version " + version);
            return 0;
        }
    }

    /** {@code thaw alias list NAME}. */
    @Command(name = "list", description = "Lists a function's aliases and its invocable versions.")
    static final class ListAliases extends ClientCommand {
        @Parameters(index = "0", paramLabel = "NAME", description = "Function name.")
        String name;

        @Override
        int run(ThawClient client) {
            TextTable table = TextTable.leftAligned("VERSION", "ALIASES", "DEPLOYED", "SNAPSHOT", "");
            for (var v : client.versions(name).path("versions")) {
                java.util.List<String> aliases = new java.util.ArrayList<>();
                v.path("aliases").forEach(a -> aliases.add(a.asText()));
                table.row(v.path("version").asText(), aliases.isEmpty() ? "-" : String.join(",", aliases),
                        v.path("deployedAt").asText(), v.path("snapshot").isNull() ? "-" : v.path("snapshot").asText("-"),
                        v.path("latest").asBoolean() ? "latest" : "");
            }
            out().print(table.render());
            return 0;
        }
    }

    /** {@code thaw alias delete NAME ALIAS}. */
    @Command(name = "delete", description = "Deletes an alias (the version it pointed to stays while it is among the last"
            + " versions kept).")
    static final class Delete extends ClientCommand {
        @Parameters(index = "0", paramLabel = "NAME", description = "Function name.")
        String name;

        @Parameters(index = "1", paramLabel = "ALIAS", description = "The alias.")
        String alias;

        @Override
        int run(ThawClient client) {
            long version = client.deleteAlias(name, alias);
            out().println("deleted alias " + alias + " of " + name + " (it pointed to version " + version + ")");
            return 0;
        }
    }
}
