package dev.thaw.bench;

import dev.thaw.client.ThawClient;
import java.nio.file.Path;

/**
 * Starts nodes for benchmarks that compare node configurations (the restore benchmark starts one
 * node per store variant). The CLI implements it with in-process nodes; the bench module does not
 * depend on the node.
 */
@FunctionalInterface
public interface NodeLauncher {

    /**
     * @param variant the store configuration
     * @param dataDir an empty directory for the node's data
     * @return a running node; closing it stops the node and its instances
     */
    RunningNode start(StoreVariant variant, Path dataDir);

    /** A node started for a benchmark. */
    interface RunningNode extends AutoCloseable {
        /** @return a client of the node */
        ThawClient client();

        /** Stops the node. */
        @Override
        void close();
    }
}
