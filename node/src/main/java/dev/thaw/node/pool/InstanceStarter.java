package dev.thaw.node.pool;

/**
 * Starts a function's instances: the pool decides when, the starter decides how (restore a clone,
 * boot and checkpoint, or boot).
 */
public interface InstanceStarter {

    /**
     * @return false while a start must wait: the function's first boot is being checkpointed, and
     *     one boot then restores is faster than many boots on a small machine
     */
    boolean mayStart();

    /**
     * Starts an instance in the background; it reports to {@code events}, its exit included, also
     * when it fails to start at all.
     */
    PoolInstance start(InstanceEvents events);

    /**
     * Starts an instance in the background, as {@link #start(InstanceEvents)} does.
     *
     * @param clone whether it is a pre-restored clone (prewarm, prediction), which no invocation
     *     waits for: it then rehearses its invocation path before it reports ready
     */
    default PoolInstance start(InstanceEvents events, boolean clone) {
        return start(events);
    }

    /**
     * @return whether an instance started ahead of demand would be a restore (a snapshot is ready):
     *     clones are restored ahead, never booted
     */
    default boolean restoresAhead() {
        return true;
    }

    /**
     * @return whether a boot started now would take the function's snapshot (none is taken or being
     *     taken, and the function has snapshots on a node that can take them)
     */
    default boolean snapshotsAhead() {
        return false;
    }

    /** The pool closed: whatever the starter keeps ready for later starts goes. */
    default void close() {
    }
}
