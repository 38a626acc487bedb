package dev.thaw.cluster;

import java.util.function.Consumer;

/**
 * A node's handle on the cluster's coordination in etcd: {@link #membership()},
 * {@link #registry()} (deployed functions) and {@link #catalog()} (snapshots and boot claims).
 *
 * <p>The handle holds one etcd lease, renewed every third of its TTL by its own timer; the member
 * record and boot claims live under it, so a node that dies disappears within the TTL. One watch over
 * the cluster's key prefix keeps a local view of members, functions, snapshots and claims, from which
 * listeners are told of changes. When etcd cannot be reached the handle says so ({@link #connection()},
 * {@link #onConnectionChange}), fails calls that need etcd at once with
 * {@link ClusterException.Unavailable}, answers the reads documented as such from its last view, and
 * reconnects by itself with backoff: it renews or re-creates its lease, re-registers the member record
 * and resumes the watch from the last revision it saw (from a full reload if etcd compacted that
 * revision away).
 *
 * <p>Thread-safe. Listeners of all kinds run on one thread of the handle, in etcd's order; they should
 * return quickly and must not call {@link SnapshotCatalog#awaitSnapshot}. The handle's threads are
 * daemons and stop with {@link #close()}.
 */
public interface Coordination extends AutoCloseable {

    /**
     * Connects to etcd: grants the handle's lease and loads the cluster's view.
     *
     * @throws ClusterException.Unavailable at once if no endpoint accepts connections, or if etcd does not answer
     *     within three {@link ClusterConfig#callTimeout() call timeouts} (the first call also sets the connection up)
     */
    static Coordination connect(ClusterConfig config) {
        return EtcdCoordination.connect(config);
    }

    /** @return the settings the handle was made with */
    ClusterConfig config();

    /** @return the membership of the cluster, and this node's record in it */
    Membership membership();

    /** @return the cluster-wide function registry */
    FunctionRegistry registry();

    /** @return the snapshot catalog and boot claims */
    SnapshotCatalog catalog();

    /** @return the Event invocations nodes accepted and have not finished */
    EventLedger events();

    /** @return the connection state now */
    ConnectionState connection();

    /** Tells {@code listener} of every later change of {@link #connection()}. */
    Subscription onConnectionChange(Consumer<ConnectionState> listener);

    /**
     * Leaves the cluster if joined (revokes the lease, so the others see this node go at once), then
     * stops the handle's threads and closes its etcd client. Idempotent; later calls fail with
     * {@link IllegalStateException}.
     */
    @Override
    void close();
}
