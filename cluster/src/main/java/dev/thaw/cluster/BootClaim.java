package dev.thaw.cluster;

import java.time.Instant;

/**
 * The right to boot and snapshot one function version, held by one node at a time under that node's
 * lease: it goes when the node publishes the snapshot ({@link SnapshotCatalog#publish}), gives up
 * ({@link SnapshotCatalog#release}), or dies (its lease expires).
 *
 * @param function the function's name
 * @param version the function version
 * @param nodeId the node that holds it
 * @param claimedAt when it was claimed, by that node's clock (informative only)
 */
public record BootClaim(String function, long version, String nodeId, Instant claimedAt) {

    /** Validates every field. */
    public BootClaim {
        Checks.function(function);
        Checks.version(version);
        Checks.id("claiming node id", nodeId);
        Checks.notNull("claim time", claimedAt);
    }
}
