package dev.thaw.store;

import java.util.List;

/**
 * What one snapshot costs and where it lives.
 *
 * @param snapshotId the snapshot
 * @param files number of image files
 * @param logicalBytes sum of the files' sizes
 * @param chunkSize the size the snapshot's files were cut into (the last chunk of a file may be shorter)
 * @param chunks number of chunk references, zero chunks included
 * @param zeroChunks chunk references that are all zeros (not stored)
 * @param distinctChunks distinct stored chunks the snapshot references
 * @param storedBytes plaintext bytes of those distinct chunks
 * @param uniqueBytes bytes of distinct chunks no other stored snapshot references
 * @param sharedBytes bytes of distinct chunks at least one other stored snapshot references too
 * @param tiers names of the tiers that hold every stored chunk of the snapshot
 * @param durable whether the snapshot is fully uploaded to the S3 tier
 */
public record SnapshotStats(String snapshotId, int files, long logicalBytes, int chunkSize, int chunks, int zeroChunks,
                            int distinctChunks, long storedBytes, long uniqueBytes, long sharedBytes,
                            List<String> tiers, boolean durable) {
    /** Copies {@code tiers} so that the record is immutable. */
    public SnapshotStats {
        tiers = List.copyOf(tiers);
    }
}
