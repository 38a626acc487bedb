package dev.thaw.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.bench.TextTable;
import dev.thaw.client.ThawClient;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;

/** {@code thaw cluster}: a local cluster ({@code up}) and the live nodes of one ({@code nodes}). */
@Command(name = "cluster", description = "A cluster of nodes on etcd: run one on this machine, list its nodes.",
        subcommands = {ClusterUpCommand.class, ClusterCommand.Nodes.class})
final class ClusterCommand extends GroupCommand {

    /** {@code thaw cluster nodes}: a header and one line per live node. */
    @Command(name = "nodes", description = "Lists the cluster's live nodes: id, address, state, load, idle instances,"
            + " cached snapshots (* marks the node asked).")
    static final class Nodes extends ClientCommand {
        @Override
        int run(ThawClient client) {
            JsonNode body = client.clusterNodes();
            TextTable table = TextTable.leftAligned("ID", "ADDRESS", "STATE", "LOAD", "IDLE", "CACHED SNAPSHOTS");
            for (JsonNode n : body.path("nodes")) {
                int idle = 0;
                for (JsonNode v : n.path("idle")) {
                    idle += v.asInt();
                }
                List<String> cached = new ArrayList<>();
                n.path("memorySnapshots").forEach(s -> cached.add(s.asText() + " (memory)"));
                n.path("diskSnapshots").forEach(s -> cached.add(s.asText() + " (disk)"));
                String id = n.path("id").asText();
                table.row(id.equals(body.path("self").asText()) ? id + " *" : id, n.path("address").asText(),
                        n.path("state").asText(), n.path("load").asInt() + "/" + n.path("capacity").asInt(),
                        Integer.toString(idle), cached.isEmpty() ? "-" : String.join(", ", cached));
            }
            out().print(table.render());
            out().println("etcd: " + body.path("etcd").asText());
            return 0;
        }
    }
}
