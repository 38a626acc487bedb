package dev.thaw.store;

/**
 * How much two snapshots share in the store. Sizes count distinct stored (non-zero) chunks.
 *
 * @param snapshotId one snapshot
 * @param otherSnapshotId the other
 * @param bytes stored bytes of the first
 * @param otherBytes stored bytes of the second
 * @param sharedBytes bytes of chunks both reference, stored once
 */
public record DedupStats(String snapshotId, String otherSnapshotId, long bytes, long otherBytes, long sharedBytes) {

    /** @return bytes the pair occupies in the store */
    public long storedTogether() {
        return bytes + otherBytes - sharedBytes;
    }

    /** @return what both would occupy without deduplication, divided by what they occupy with it (1.0 = nothing shared) */
    public double ratio() {
        return storedTogether() == 0 ? 1.0 : (double) (bytes + otherBytes) / storedTogether();
    }

    /** @return the share of the second snapshot's bytes already stored by the first */
    public double sharedShareOfOther() {
        return otherBytes == 0 ? 0.0 : (double) sharedBytes / otherBytes;
    }
}
