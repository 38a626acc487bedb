package dev.thaw.node;

import java.net.URI;

/**
 * A running thaw node: the HTTP API on 127.0.0.1, the Runtime API its instances poll, the function
 * registry, one instance pool per function and the snapshot engine. Created by
 * {@link #start(NodeConfig)}; {@link #close()} stops every instance it started and frees its ports.
 */
public interface Node extends AutoCloseable {

    /**
     * Starts a node.
     *
     * @param config where to listen, where to keep data, how to run instances
     * @return the started node
     */
    static Node start(NodeConfig config) {
        return ThawNode.start(config);
    }

    /** @return the port of the public HTTP API */
    int port();

    /** @return {@code http://127.0.0.1:port} */
    default URI uri() {
        return URI.create("http://127.0.0.1:" + port());
    }

    /** @return the API token callers authenticate with ({@code Authorization: Bearer}); also in {@code DATA_DIR/api-token} */
    String apiToken();

    /** @return the AWS shared-credentials file whose access keys sign Lambda-path requests */
    java.nio.file.Path awsCredentialsFile();

    /** @return whether instances run in sandboxes, and what the sandbox enforces (or why it is off), in one sentence */
    String sandboxStatus();

    /**
     * @return what sandboxed instances may reach outside (the {@code --egress-allow} patterns, through the
     *     node's egress proxy), or that they reach nothing, or that instances share the host's network
     *     because they run without a sandbox, in one sentence
     */
    String egressStatus();

    /** @return what the node cleaned at start of what a node killed on its data directory had left, or "" */
    String cleanedAtStart();

    /** @return this node's id, as references to the data it holds name it */
    String nodeId();

    /** @return {@code host:port} where other nodes pull transfer data from this one */
    String transferAddress();

    /** @return why snapshots are on or off, in one sentence */
    String snapshotStatus();

    /** Blocks until the node has been closed (by {@link #close()} or a shutdown hook). */
    void awaitClose() throws InterruptedException;

    /**
     * Drains, then stops: refuses new work, lets accepted invocations finish within
     * {@link NodeConfig#drainGrace()} and answers what is left with an error, keeps unfinished
     * asynchronous invocations queued for the next start, then stops every instance, waits for them
     * to exit and closes the listeners. Idempotent.
     */
    @Override
    void close();
}
