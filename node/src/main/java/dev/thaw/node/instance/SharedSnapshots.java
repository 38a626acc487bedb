package dev.thaw.node.instance;

import dev.thaw.node.function.Deployment;
import dev.thaw.node.snapshot.Snapshot;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * How a node's snapshots are shared with the other nodes of its cluster: one boot in the cluster
 * serves every node's later cold starts. A single node shares nothing ({@link #NONE}): it takes
 * every snapshot it needs.
 */
public interface SharedSnapshots {

    /** What a start that was to boot and checkpoint does instead. */
    enum Decision {
        /** Boot and take the snapshot: this node holds the right to. */
        CHECKPOINT,
        /** Restore: another node's snapshot is published, and {@link Snapshot} is now READY with it. */
        RESTORE,
        /** Boot without a snapshot: another node is taking it and did not finish in time. */
        BOOT
    }

    /**
     * Called on the start's own thread (it may block, on etcd and the store) before a boot that was
     * to checkpoint, while the snapshot is PENDING.
     */
    Decision beforeCheckpoint(Deployment d, Snapshot s);

    /**
     * @return whether another node waits now for the snapshot of the deployment this node is taking
     *     (from the last view: no call to etcd); its publish, held for a quiet node, goes at once then
     */
    default boolean awaitedElsewhere(Deployment d) {
        return false;
    }

    /** The snapshot this node took is stored: make it the cluster's. */
    void taken(Deployment d, Snapshot s);

    /** A checkpoint this node held the right to did not produce a stored snapshot: let another node try. */
    void notTaken(Deployment d, String why);

    /**
     * A restore failed and the snapshot was discarded here: the cluster forgets it too, so a boot takes a new one.
     *
     * @param snapshotId the discarded snapshot's id in the store
     */
    void discarded(Deployment d, String snapshotId, String why);

    /**
     * The snapshot the cluster's catalog names for a function version, as this node last saw it (no
     * call to etcd): what a warmed snapshot replaces, and what the other nodes move to.
     *
     * @param snapshotId its id in the store
     * @param takenBy the id of the node that took it
     */
    record Catalogued(String snapshotId, String takenBy) {
    }

    /** @return what the catalog names for the deployment; empty when nothing (and on a single node) */
    default Optional<Catalogued> catalogued(Deployment d) {
        return Optional.empty();
    }

    /**
     * This node replaced the deployment's snapshot with a warmed one, now stored: once uploaded, with
     * its metadata, the catalog names it in place of the snapshot taken after init, unless the entry
     * changed meanwhile. Blocks (the upload, etcd).
     *
     * @return empty when the catalog names it now; else why not
     */
    default Optional<String> warmed(Deployment d, Snapshot s) {
        return Optional.of("this node is not part of a cluster");
    }

    /**
     * Takes the cluster's right to warm the deployment's snapshot, held by one node at a time (under
     * its lease: its death frees it). Taking a right this node holds already succeeds. Blocks (etcd).
     *
     * @return empty when this node holds it now; else why not, in words (which node holds it)
     */
    Optional<String> claimWarming(Deployment d);

    /** Gives the right to warm the deployment's snapshot back, if this node holds it. Blocks (etcd). */
    void releaseWarming(Deployment d);

    /**
     * Fetches the metadata directory of a snapshot another node stored ({@code snapshot.json},
     * {@code scratch/}) into {@code metaDir}.
     *
     * @return false when the shared store has none
     */
    default boolean fetchMeta(String snapshotId, Path metaDir) throws IOException {
        return false;
    }

    /** @return whether other nodes restore the snapshots this node takes (it is one of a cluster) */
    default boolean shared() {
        return true;
    }

    /** Nothing shared: every checkpoint is this node's own. */
    SharedSnapshots NONE = new SharedSnapshots() {
        @Override
        public Decision beforeCheckpoint(Deployment d, Snapshot s) {
            return Decision.CHECKPOINT;
        }

        @Override
        public void taken(Deployment d, Snapshot s) {
        }

        @Override
        public void notTaken(Deployment d, String why) {
        }

        @Override
        public void discarded(Deployment d, String snapshotId, String why) {
        }

        @Override
        public Optional<String> claimWarming(Deployment d) {
            return Optional.empty(); // a node on its own warms its own snapshots
        }

        @Override
        public void releaseWarming(Deployment d) {
        }

        @Override
        public boolean shared() {
            return false;
        }
    };
}
