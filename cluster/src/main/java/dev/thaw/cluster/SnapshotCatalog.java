package dev.thaw.cluster;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Which snapshot serves which function version, and who may take one. A cold start of
 * {@code function@version} on any node goes:
 *
 * <pre>{@code
 * for (;;) {
 *     switch (catalog.claim(fn, v)) {
 *         case Claim.Published p -> { return restore(p.entry()); }
 *         case Claim.Won w -> {          // this node boots and snapshots; the others wait for it
 *             try { SnapshotEntry e = bootAndSnapshot(); catalog.publish(e); return e; }
 *             catch (RuntimeException ex) { catalog.release(w.claim()); throw ex; }
 *         }
 *         case Claim.Busy b -> {         // another node is booting it
 *             Optional<SnapshotEntry> e = catalog.awaitSnapshot(fn, v, remaining);
 *             if (e.isPresent()) return restore(e.get());
 *             if (out of time) return bootWithoutClaim();   // else: the claim went, claim again
 *         }
 *     }
 * }
 * }</pre>
 *
 * A claim lives under the claimant's lease, so a claimant that dies frees it within the lease's TTL.
 * Publishing is create-if-absent and releases the publisher's claim in the same transaction.
 */
public interface SnapshotCatalog {

    /**
     * The snapshot of a function version. Falls back to the last view while etcd is unreachable (a
     * stale answer costs at worst a failed restore, after which the node boots and removes it).
     */
    Optional<SnapshotEntry> find(String function, long version);

    /**
     * The snapshot of a function version as this node's watch last saw it (the handle's view: no
     * call to etcd), for what is asked often and may be a moment late.
     */
    Optional<SnapshotEntry> seen(String function, long version);

    /** Every catalog entry, sorted by function and version. Falls back to the last view while etcd is unreachable. */
    List<SnapshotEntry> list();

    /**
     * Tries to take the boot claim of a function version: fails if a snapshot is published (then
     * returns it) or another node holds the claim (then says which).
     *
     * @throws ClusterException.Unavailable if etcd cannot be reached (the node may boot without a claim)
     */
    Claim claim(String function, long version);

    /**
     * Waits until a snapshot of the function version is published, or until nobody holds its claim
     * any more (released, or its holder's lease expired), or until {@code timeout} passes. Served by
     * the handle's watch, with no call to etcd beyond announcing the wait (under this node's lease,
     * withdrawn at its end), which {@link #awaitedByOthers} shows the claimant. Must not be called
     * from a listener.
     *
     * @return the entry, or empty when there is none at the end of the wait (claim again, or boot)
     * @throws InterruptedException if interrupted while waiting
     */
    Optional<SnapshotEntry> awaitSnapshot(String function, long version, Duration timeout) throws InterruptedException;

    /**
     * Whether another node waits in {@link #awaitSnapshot} for the version's snapshot now, as the
     * handle's view last saw it (no call to etcd): a claimant may hold back a costly publish while
     * nobody does.
     */
    boolean awaitedByOthers(String function, long version);

    /**
     * Publishes a snapshot unless one is already published for its function version, and releases this
     * node's claim on it in the same transaction. Needs no claim (a node that booted without one may
     * publish too: the first publish wins).
     *
     * @return the entry the catalog holds afterwards: {@code entry} if this call published it, else the earlier one
     * @throws ClusterException.Unavailable if etcd cannot be reached
     */
    SnapshotEntry publish(SnapshotEntry entry);

    /**
     * Makes {@code entry} the snapshot of its function version in place of the one named
     * {@code replacedId}, if the catalog still names that one: a snapshot replaced by a better one
     * of the same version (a warmed snapshot), which the other nodes move to as they see it.
     *
     * @return whether the catalog names {@code entry} now (false when the version's entry is gone,
     *     names another snapshot, or names this one as another node's)
     * @throws ClusterException.Unavailable if etcd cannot be reached
     */
    boolean replace(SnapshotEntry entry, String replacedId);

    /**
     * Tries to take the right to warm a function version's snapshot (to replace it with a snapshot of
     * an instance that has served invocations, then {@link #replace}): one node at a time, under its
     * lease, so that a version has one warmed snapshot and a claimant that dies frees the right
     * within the lease's TTL. Taking a claim this node holds already succeeds.
     *
     * @return empty when this node holds the claim now; else the id of the node that holds it
     * @throws ClusterException.Unavailable if etcd cannot be reached
     */
    Optional<String> claimWarming(String function, long version);

    /**
     * Gives up this node's claim to warm the version's snapshot (warmed and replaced, or given up). No-op if
     * this node does not hold it.
     *
     * @throws ClusterException.Unavailable if etcd cannot be reached; the release is retried on reconnection
     */
    void releaseWarming(String function, long version);

    /**
     * Gives up a claim without publishing (the boot failed or vetoed its snapshot), so another node
     * may claim at once. No-op if this node no longer holds it.
     *
     * @throws ClusterException.Unavailable if etcd cannot be reached; the release is retried on reconnection
     */
    void release(BootClaim claim);

    /**
     * Removes the entry of a function version if it still names {@code snapshotId}: a node that found
     * that snapshot broken removes it so that the next cold start boots and snapshots again, without
     * removing a newer snapshot another node published meanwhile.
     *
     * @return whether it was removed
     * @throws ClusterException.Unavailable if etcd cannot be reached
     */
    boolean remove(String function, long version, String snapshotId);

    /**
     * The members whose memory or disk tier holds the snapshot, from their membership records (the
     * handle's view: no call to etcd), sorted by id.
     */
    List<Member> cachedBy(String snapshotId);

    /** Tells {@code listener} of every current entry ({@link CatalogEvent.Published}), then of every change. */
    Subscription subscribe(Consumer<CatalogEvent> listener);
}
