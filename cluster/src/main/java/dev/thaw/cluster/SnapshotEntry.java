package dev.thaw.cluster;

import java.time.Instant;

/**
 * The catalog's record of the snapshot that serves one function version, so that the boot of one
 * node serves every node's later cold starts.
 *
 * @param function the function's name
 * @param version the function version the snapshot was taken of
 * @param snapshotId the snapshot's id in the snapshot store
 * @param manifestKey the key or id of the store manifest to restore from
 * @param sizeBytes the snapshot's size in bytes
 * @param restoreMode the restore mode it was taken for ({@code eager}, {@code lazy}, {@code reap})
 * @param takenBy id of the node that took it
 * @param takenAt when, by that node's clock (informative only)
 * @param meta what a node needs besides the store's objects to restore the snapshot (the runtime's
 *     handshake tokens, the pipes its standard streams had), as JSON text; opaque to the catalog
 */
public record SnapshotEntry(String function, long version, String snapshotId, String manifestKey, long sizeBytes,
                            String restoreMode, String takenBy, Instant takenAt, String meta) {

    /** Validates every field. */
    public SnapshotEntry {
        Checks.function(function);
        Checks.version(version);
        Checks.text("snapshot id", snapshotId);
        Checks.text("manifest key", manifestKey);
        Checks.notNegative("snapshot size", sizeBytes);
        Checks.text("restore mode", restoreMode);
        Checks.id("snapshotting node id", takenBy);
        Checks.notNull("snapshot time", takenAt);
        Checks.notNull("snapshot meta", meta);
    }

    /** An entry with no meta ({@code {}}). */
    public SnapshotEntry(String function, long version, String snapshotId, String manifestKey, long sizeBytes,
                         String restoreMode, String takenBy, Instant takenAt) {
        this(function, version, snapshotId, manifestKey, sizeBytes, restoreMode, takenBy, takenAt, "{}");
    }
}
