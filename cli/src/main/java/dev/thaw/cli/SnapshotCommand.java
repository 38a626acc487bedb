package dev.thaw.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.bench.TextTable;
import dev.thaw.client.ThawClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code thaw snapshot list | inspect NAME | evict NAME | compare NAME OTHER}: the functions'
 * snapshots, on the node and in the store.
 */
@Command(name = "snapshot", description = "Lists, inspects, evicts, loads or compares snapshots.",
        subcommands = {SnapshotCommand.ListSnapshots.class, SnapshotCommand.Inspect.class, SnapshotCommand.Evict.class,
                SnapshotCommand.Compare.class, SnapshotCommand.Load.class})
final class SnapshotCommand extends GroupCommand {


    /** {@code thaw snapshot list}. */
    @Command(name = "list", description = "Lists every function's snapshot: state, size, chunks, tiers, durability.")
    static final class ListSnapshots extends ClientCommand {
        @Override
        int run(ThawClient client) {
            TextTable table = TextTable.leftAligned("FUNCTION", "VERSION", "STATE", "SIZE", "CHUNKS", "UNIQUE", "SHARED",
                    "TIERS", "DURABLE");
            for (JsonNode s : client.snapshots().path("snapshots")) {
                JsonNode store = s.path("store");
                table.row(s.path("function").asText(), s.path("version").asText(), s.at("/snapshot/state").asText(),
                        mb(s.at("/snapshot/sizeBytes")), store.isMissingNode() || store.isNull() ? "-" : store.path("chunks").asText(),
                        mb(store.path("uniqueBytes")), mb(store.path("sharedBytes")),
                        store.path("tiers").isArray() ? String.join(",", names(store.path("tiers"))) : "-",
                        store.path("durable").isBoolean() ? (store.path("durable").asBoolean() ? "yes" : "no") : "-");
            }
            out().print(table.render());
            return 0;
        }

        private static java.util.List<String> names(JsonNode array) {
            java.util.List<String> out = new java.util.ArrayList<>();
            array.forEach(n -> out.add(n.asText()));
            return out;
        }

        private static String mb(JsonNode bytes) {
            return bytes.isNumber() ? String.format(java.util.Locale.ROOT, "%.1f MB", bytes.asLong() / 1048576.0) : "-";
        }
    }

    /** A subcommand about one function's snapshot that prints the node's JSON answer. */
    abstract static class OneSnapshot extends ClientCommand {
        @Parameters(index = "0", paramLabel = "NAME", description = "Function name.")
        String name;

        /** @return the node's answer about snapshot {@code name} */
        abstract JsonNode ask(ThawClient client);

        @Override
        final int run(ThawClient client) {
            out().println(ErrorReporter.prettyJson(ask(client)));
            return 0;
        }
    }

    /** {@code thaw snapshot inspect NAME}. */
    @Command(name = "inspect", description = "Shows a function's snapshot: size, chunks, unique vs shared bytes, tiers, durable or not.")
    static final class Inspect extends OneSnapshot {
        @Override
        JsonNode ask(ThawClient client) {
            return client.snapshot(name);
        }
    }

    /** {@code thaw snapshot evict NAME [--from working,memory,disk]}. */
    @Command(name = "evict", description = "Drops a snapshot from fast places (the node's working copy, the store's memory"
            + " and disk tiers); the next restore fetches it from the fastest place left.")
    static final class Evict extends OneSnapshot {
        @picocli.CommandLine.Option(names = "--from", split = ",", paramLabel = "PLACE", defaultValue = "working",
                description = "working, memory, disk (comma-separated; default: ${DEFAULT-VALUE}). The disk tier only"
                        + " once the snapshot is durable in S3.")
        java.util.List<String> from;

        @Override
        JsonNode ask(ThawClient client) {
            return client.evictSnapshot(name, new java.util.TreeSet<>(from));
        }
    }

    /** {@code thaw snapshot load NAME}. */
    @Command(name = "load", description = "Brings a snapshot into the node's working copy on tmpfs (from the store if"
            + " need be), so that the next restores read it locally.")
    static final class Load extends OneSnapshot {
        @Override
        JsonNode ask(ThawClient client) {
            return client.loadSnapshot(name);
        }
    }

    /** {@code thaw snapshot compare NAME OTHER}. */
    @Command(name = "compare", description = "Shows how much two functions' stored snapshots share (deduplication).")
    static final class Compare extends OneSnapshot {
        @Parameters(index = "1", paramLabel = "OTHER", description = "The other function's name.")
        String other;

        @Override
        JsonNode ask(ThawClient client) {
            return client.compareSnapshots(name, other);
        }
    }
}
