package dev.thaw.node.api;

import dev.thaw.core.FunctionInfo;
import dev.thaw.core.FunctionManifest;
import dev.thaw.node.event.DeadLetter;
import dev.thaw.node.function.FunctionRef;
import dev.thaw.node.pool.Invocation;
import dev.thaw.store.DedupStats;
import dev.thaw.store.GcResult;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;

/**
 * What the HTTP API asks of the node behind it. The routes parse and check requests and shape
 * answers; everything they do to functions, instances and snapshots goes through here, so the API
 * is the node's edge and nothing else.
 */
public interface NodeOperations {

    /**
     * In a cluster, runs the invocation on the node placement picks when that is another node: sends
     * it there and returns that node's answer, verbatim. Empty when it runs here (a node on its own,
     * a request another node forwarded, or placement chose this node).
     *
     * @param target the request's path and query, as received
     * @param headers the request headers that go with it (the invocation's own, no credentials)
     * @throws dev.thaw.core.ThawException {@code NodeLost} when the chosen node was lost after it had the request
     */
    default Optional<dev.thaw.node.placement.Forwarder.Answer> forwardInvocation(
            FunctionRef ref, String target, List<Map.Entry<String, String>> headers, byte[] payload) {
        return Optional.empty();
    }

    /**
     * Returns once this node may serve a request as a member of its cluster: at once on a node on
     * its own, or once it has joined. A cluster's node listens before it joins (the others forward
     * to the address it registers), and a deploy it took in between would be its own and dropped at
     * the join, as a function the cluster does not hold.
     *
     * @throws dev.thaw.core.ThawException {@code ServiceUnavailable} when the join takes longer than a
     *     request waits
     */
    default void awaitJoined() {
    }

    /** @return this node's id in its cluster; empty for a node on its own */
    default Optional<String> clusterNodeId() {
        return Optional.empty();
    }

    /** @return the cluster's live nodes, this one included, as {@code thaw cluster nodes} shows them */
    default Map<String, Object> clusterNodes() {
        throw dev.thaw.core.ThawException.invalidRequest("this node is not part of a cluster (thaw up --cluster)");
    }

    /** @return whether snapshots are on, why (or why not), and counts, for {@code /healthz} */
    Map<String, Object> health();

    /** @return the Prometheus exposition's content type */
    String metricsContentType();

    /** @return the node's metrics in the Prometheus text format */
    byte[] scrapeMetrics();

    List<FunctionInfo> describeAll();

    FunctionInfo describe(String name);

    boolean isDeployed(String name);

    FunctionInfo deploy(FunctionManifest manifest, byte[] code);

    /** @return the version that was deleted */
    long delete(String name);

    List<String> logs(String name, int tail);

    /** @return how many idle instances were stopped */
    int evict(String name) throws InterruptedException;

    /**
     * Admits a request that accepts work (an invocation of any type), so that a node shutting down
     * waits for its answer to be sent; close the admission once the answer is sent.
     *
     * @throws dev.thaw.core.ThawException {@code ServiceUnavailable} when the node is shutting down
     */
    Admission admit();

    /** A request the node counts as in flight until it is closed. */
    interface Admission extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * @return the version {@code ref} names now
     * @throws dev.thaw.core.ThawException {@code FunctionNotFound} naming the function and qualifier
     */
    long resolveVersion(FunctionRef ref);

    /**
     * Accepts a synchronous invocation of the version {@code ref} names; the returned invocation's future
     * completes with its answer.
     *
     * @param captureLog whether the invocation collects its own log (Lambda's {@code LogType: Tail})
     */
    Invocation invoke(FunctionRef ref, byte[] payload, boolean captureLog);

    /**
     * Accepts an asynchronous invocation: it is durable in the node's event queue when this returns, and
     * runs at least once, with retries (docs/API.md).
     *
     * @return its request id
     */
    String enqueue(FunctionRef ref, byte[] payload);

    /** @return the function's dead letters: events whose every attempt failed, oldest first */
    List<DeadLetter> deadLetters(String name);

    /** @return how many dead letters were deleted */
    int clearDeadLetters(String name);

    /** @return the function's aliases, alias to version */
    SortedMap<String, Long> aliases(String name);

    /** Creates or moves an alias. @return the version it pointed to before, when it existed */
    Optional<Long> setAlias(String name, String alias, long version);

    /** @return the version the deleted alias pointed to; empty when there was no such alias */
    Optional<Long> deleteAlias(String name, String alias);

    /** @return the function's invocable versions, oldest first: number, aliases, deploy time, snapshot state */
    List<Map<String, Object>> versions(String name);

    List<Map<String, Object>> snapshotReports();

    Map<String, Object> snapshotReport(String name);

    Map<String, Long> evictSnapshot(String name, Set<String> places);

    Map<String, Object> loadSnapshot(String name) throws IOException;

    DedupStats compareSnapshots(String name, String other);

    GcResult gc();

    /**
     * In a cluster, the same request on every other node that answers, each for itself (a node's
     * tiers and working copies are its own): their answers by node id, a JSON value each ({@code
     * {"status": N, "error": ...}} for one that refused). Empty on a node alone and for a request
     * another node forwarded.
     */
    Map<String, Object> onOtherNodes(String method, String target);
}
