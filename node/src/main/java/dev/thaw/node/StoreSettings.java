package dev.thaw.node;

/**
 * How the node's snapshot store cuts, protects and caches images.
 *
 * @param chunkSize chunk size in bytes, a multiple of 4096 (default 512 KiB, as AWS Lambda's)
 * @param encryption whether chunks are encrypted (default true; off only to measure what it costs)
 * @param memoryBytes bound of the memory tier (default 512 MiB; 0 disables it)
 * @param diskBytes bound of the disk tier (default 8 GiB)
 * @param warmUpReads whether the store compiles its S3 read path in the background at start (default
 *     true; with the embedded S3 server only), so that a fresh node's first restores from S3 do not
 *     pay for the JIT
 */
public record StoreSettings(int chunkSize, boolean encryption, long memoryBytes, long diskBytes, boolean warmUpReads) {
    /** The defaults. */
    public static final StoreSettings DEFAULT = new StoreSettings(512 * 1024, true, 512L << 20, 8L << 30, true);

    /** Checks the values, so that a bad setting fails when the node is configured, not when it stores. */
    public StoreSettings {
        if (chunkSize < 4096 || chunkSize % 4096 != 0 || chunkSize > 64 << 20) {
            throw new IllegalArgumentException("store chunk size must be a multiple of 4096 between 4 KiB and 64 MiB, not "
                    + chunkSize);
        }
        if (memoryBytes < 0 || diskBytes <= 0) {
            throw new IllegalArgumentException("store tier bounds must be memory >= 0 and disk > 0 bytes");
        }
    }

    /** @return these settings with another chunk size */
    public StoreSettings withChunkSize(int value) {
        return new StoreSettings(value, encryption, memoryBytes, diskBytes, warmUpReads);
    }

    /** @return these settings with encryption on or off */
    public StoreSettings withEncryption(boolean value) {
        return new StoreSettings(chunkSize, value, memoryBytes, diskBytes, warmUpReads);
    }

    /** @return these settings with another memory tier bound */
    public StoreSettings withMemoryBytes(long value) {
        return new StoreSettings(chunkSize, encryption, value, diskBytes, warmUpReads);
    }

    /** @return these settings with the S3 read warm-up on or off (tests, which start many nodes, turn it off) */
    public StoreSettings withWarmUpReads(boolean value) {
        return new StoreSettings(chunkSize, encryption, memoryBytes, diskBytes, value);
    }
}
