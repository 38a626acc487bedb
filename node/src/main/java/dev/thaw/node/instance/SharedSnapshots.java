package dev.thaw.node.instance;

import dev.thaw.node.function.Deployment;
import dev.thaw.node.snapshot.Snapshot;

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

    /** The snapshot this node took is stored: make it the cluster's. */
    void taken(Deployment d, Snapshot s);

    /** A checkpoint this node held the right to did not produce a stored snapshot: let another node try. */
    void notTaken(Deployment d, String why);

    /** A restore failed and the snapshot was discarded here: the cluster forgets it too, so a boot takes a new one. */
    void discarded(Deployment d, String why);

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
        public void discarded(Deployment d, String why) {
        }

        @Override
        public boolean shared() {
            return false;
        }
    };
}
