package dev.thaw.cluster;

import java.util.Map;
import java.util.Set;

/**
 * The asynchronous ({@code Event}) invocations each node accepted and has not finished, kept in
 * etcd until they end, so that another node runs them when their node leaves the cluster for good.
 *
 * <p>Each node records under its own id what it accepted (before it answers the caller) and
 * forgets it once the event ended (succeeded or dead-lettered). When a node leaves, the others
 * {@link #adopt} its events: each event moves atomically to exactly one of them, which runs it.
 * Nothing here is under a lease: events outlive their node. The values are opaque to the ledger.
 *
 * <p>Delivery is at least once, as Lambda's: a node that went quiet long enough for the others to
 * adopt its events, and then ran them anyway, runs them twice.
 */
public interface EventLedger {

    /**
     * Records (or replaces) an event this node accepted.
     *
     * @throws ClusterException.Unavailable when etcd cannot be reached: the event is not recorded
     */
    void record(String requestId, byte[] event);

    /**
     * Forgets an event of this node's that ended.
     *
     * @throws ClusterException.Unavailable when etcd cannot be reached
     */
    void forget(String requestId);

    /**
     * @return this node's events by request id
     * @throws ClusterException.Unavailable when etcd cannot be reached
     */
    Map<String, byte[]> recorded();

    /**
     * @return the ids of every node that has events recorded
     * @throws ClusterException.Unavailable when etcd cannot be reached
     */
    Set<String> owners();

    /**
     * Moves every event of node {@code from} to this node. Each moves in a transaction of its own,
     * so when several nodes adopt at once every event goes to one of them.
     *
     * @return the events this node got, by request id
     * @throws ClusterException.Unavailable when etcd cannot be reached (what moved before stays moved)
     */
    Map<String, byte[]> adopt(String from);
}
