package dev.thaw.cluster;

/** What {@link SnapshotCatalog#claim} found: one of three cases, to switch over. */
public sealed interface Claim {

    /** A snapshot is already published: restore it, no boot needed. */
    record Published(SnapshotEntry entry) implements Claim {
    }

    /** This node holds the claim now: boot, snapshot, then publish (or release on failure). */
    record Won(BootClaim claim) implements Claim {
    }

    /**
     * Another node holds the claim: wait for its snapshot with {@link SnapshotCatalog#awaitSnapshot}
     * (or boot without a snapshot if the wait is too long for the caller).
     */
    record Busy(BootClaim heldBy) implements Claim {
    }
}
