package dev.thaw.store;

import java.nio.file.Path;
import java.time.Duration;

/** The settings a {@link SnapshotStore.Builder} collected, validated. */
record StoreConfig(Path root, byte[] secret, int chunkSize, long memoryBytes, long diskBytes, S3Config s3,
                   String embeddedBucket, int fetchThreads, int uploadThreads, Duration gcGrace,
                   Duration backoffMin, Duration backoffMax, Duration s3CallTimeout, boolean encryption,
                   java.util.function.BooleanSupplier quiet, boolean warmUpReads,
                   Duration fillWait) {
    static final int PAGE = 4096;

    /** @return whether the node is busy now, as the background fills ask it; null when they never wait */
    java.util.function.BooleanSupplier busy() {
        return quiet == null ? null : () -> !quiet.getAsBoolean();
    }
    static final int MAX_CHUNK = 64 << 20;

    StoreConfig {
        require(root != null, "root is required");
        require(secret != null && secret.length >= 32, "secret is required and must have at least 32 bytes");
        require(validChunkSize(chunkSize), chunkSizeRule(chunkSize));
        require(memoryBytes >= 0, "memoryBytes must be >= 0 (0 disables the memory tier)");
        require(diskBytes > 0, "diskBytes must be > 0");
        require(fetchThreads > 0 && uploadThreads > 0, "thread counts must be > 0");
        require(!gcGrace.isNegative(), "gcGrace must not be negative");
        require(!fillWait.isNegative(), "fillWait must not be negative");
        require(backoffMin.toMillis() > 0 && backoffMax.compareTo(backoffMin) >= 0, "upload backoff must be 0 < min <= max");
        secret = secret.clone();
    }

    static boolean validChunkSize(int chunkSize) {
        return chunkSize >= PAGE && chunkSize % PAGE == 0 && chunkSize <= MAX_CHUNK;
    }

    static String chunkSizeRule(int chunkSize) {
        return "chunkSize must be a multiple of the 4096-byte page between 4 KiB and 64 MiB, not " + chunkSize;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    @Override
    public String toString() {
        return "StoreConfig[root=" + root + ", secret=***, chunkSize=" + chunkSize + ", memoryBytes=" + memoryBytes
                + ", diskBytes=" + diskBytes + ", s3=" + s3 + ", encryption=" + encryption
                + ", warmUpReads=" + warmUpReads + ", waitsForQuiet=" + (quiet != null) + "]";
    }
}
