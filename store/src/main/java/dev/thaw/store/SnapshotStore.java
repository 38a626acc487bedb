package dev.thaw.store;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * thaw's snapshot store: CRIU image directories cut into page-aligned chunks named by their
 * content, encrypted convergently (AES-256-GCM), deduplicated across snapshots, and kept in a
 * bounded memory tier, a bounded local-disk tier and an S3-compatible tier. Writes are local and
 * synchronous; uploads to S3 run in the background and {@link #isDurable} says when a snapshot is
 * fully uploaded. Reads come from the fastest tier holding each chunk, verified, in parallel.
 *
 * <p>Every method throws {@link StoreException} (or a subclass) with a message naming the snapshot,
 * file and chunk concerned. Instances are thread-safe. See {@code store/README.md} for the design.
 */
public interface SnapshotStore extends AutoCloseable {

    /** @return a builder; {@link Builder#root} and {@link Builder#secret} are required */
    static Builder builder() {
        return new Builder();
    }

    /**
     * @return a factory of {@code base}'s threads for work on a store that no one waits for (a node
     *     publishing the snapshots it takes): they run at the store's background priority, yielding
     *     the CPU to everything else and never starved for long, as the store's own uploads and
     *     fills do (store/README.md)
     */
    static java.util.concurrent.ThreadFactory backgroundThreads(java.util.concurrent.ThreadFactory base) {
        return Background.threads(base);
    }

    /**
     * @return how many times this process's idle background work (the stores' uploads, fills and
     *     the threads of {@link #backgroundThreads}) was found starving behind busy cores and run at
     *     the normal priority for a while (store/README.md): a node that counts many has cores that
     *     stay busy, and its snapshots reach their durable tier only by these boosts
     */
    static long backgroundBoosts() {
        return Background.guard().boosts();
    }

    /**
     * Stores the regular files of {@code imagesDir} as snapshot {@code snapshotId}, replacing any
     * snapshot of that id. Returns once the snapshot is usable locally; its upload goes on in the
     * background.
     */
    SnapshotManifest put(String snapshotId, Path imagesDir);

    /**
     * As {@link #put(String, Path)}, cut into chunks of {@code chunkSize} bytes instead of the store's
     * own size: for data always read whole and in order, such as a REAP working set, where fewer and
     * larger chunks mean fewer requests to the S3 tier (each costs about a millisecond of CPU before
     * its first byte) at no loss of deduplication worth having.
     *
     * @param chunkSize a multiple of the 4096-byte page between 4 KiB and 64 MiB
     * @throws StoreException naming the chunk size if it is not one
     */
    SnapshotManifest put(String snapshotId, Path imagesDir, int chunkSize);

    /** Writes every image file of the snapshot, whole, into {@code targetDir} (created if missing). */
    default void materialize(String snapshotId, Path targetDir) {
        materialize(snapshotId, targetDir, new FetchTally());
    }

    /**
     * Writes every image file of the snapshot, whole, into {@code targetDir}, counting in
     * {@code tally} where the bytes came from.
     */
    default void materialize(String snapshotId, Path targetDir, FetchTally tally) {
        materialize(snapshotId, targetDir, java.util.Map.of(), tally);
    }

    /**
     * Writes the snapshot's image files into {@code targetDir}: whole, except the files named in
     * {@code partial}, of which only the chunks covering the given byte ranges are fetched and
     * written (the rest of such a file is a hole, its size the original's). A lazy restore
     * materializes the image this way: everything but the pages CRIU leaves to the page source.
     */
    void materialize(String snapshotId, Path targetDir, java.util.Map<String, List<ByteRange>> partial, FetchTally tally);

    /** @return {@code length} bytes of {@code fileName} from {@code offset}, fetching only the chunks that cover them */
    default byte[] read(String snapshotId, String fileName, long offset, int length) {
        return read(snapshotId, fileName, offset, length, new FetchTally());
    }

    /** As {@link #read(String, String, long, int)}, counting in {@code tally} where the bytes came from. */
    byte[] read(String snapshotId, String fileName, long offset, int length, FetchTally tally);

    /**
     * Reads {@code dest.byteSize()} bytes of {@code fileName} from {@code offset} into {@code dest},
     * front to back: each time a chunk's bytes are in place, {@code arrived} is told how many bytes at
     * the start of {@code dest} are final (so a consumer can use them while the rest is fetched).
     * Chunks are fetched in parallel as for {@link #read}. Unless {@code dest} is confined to the
     * calling thread, the fetch threads decrypt every chunk the range holds whole straight into its
     * place, with no plaintext array of its own; otherwise the caller copies each in. If the read
     * fails, bytes past the last count {@code arrived} was told may be anything (and fetch threads may
     * still write there for a moment): use only what was reported.
     *
     * @param arrived called on the calling thread with increasing counts, the last one {@code dest.byteSize()}
     */
    void readInto(String snapshotId, String fileName, long offset, java.lang.foreign.MemorySegment dest, FetchTally tally,
                  java.util.function.LongConsumer arrived);

    /**
     * Drops the snapshot's chunks from local tiers, as a cache would once they went cold: the next
     * read fetches them from a lower tier. Chunks leave the disk tier only once the snapshot is
     * durable (the disk holds the only copy before that). Chunks other snapshots share leave too.
     *
     * @param tiers names of local tiers: {@code memory}, {@code disk}
     * @return the plaintext bytes dropped per tier
     * @throws StoreException naming what is wrong: an unknown tier, or the disk tier of a snapshot not yet durable
     */
    java.util.Map<String, Long> evict(String snapshotId, java.util.Set<String> tiers);

    /**
     * Waits until the disk tier has taken every chunk reads handed to it in the background, for
     * callers that want the store quiet and its tiers settled (benchmarks, tier evictions).
     *
     * @return whether it settled within {@code timeout}
     */
    boolean awaitBackgroundFills(Duration timeout) throws InterruptedException;

    /** @return how much two stored snapshots share, in stored chunks */
    DedupStats compare(String snapshotId, String otherSnapshotId);

    /** @return the snapshot's manifest */
    SnapshotManifest manifest(String snapshotId);

    /** Deletes the snapshot's manifest everywhere; its chunks go at the next {@link #gc()}. @return whether it existed */
    boolean delete(String snapshotId);

    /** @return the ids of every stored snapshot (local and in S3), sorted */
    List<String> list();

    /** @return whether the snapshot and all its chunks are uploaded to the S3 tier */
    boolean isDurable(String snapshotId);

    /** Waits until the snapshot is durable. @return whether it became durable within {@code timeout} */
    boolean awaitDurable(String snapshotId, Duration timeout) throws InterruptedException;

    /** @return size, chunk, dedup and placement figures of the snapshot */
    SnapshotStats stats(String snapshotId);

    /**
     * @return the names of the local tiers ({@code memory}, {@code disk}) that hold every chunk of the
     *     snapshot: where a restore on this machine reads without the network. Cheaper than
     *     {@link #stats}, which compares the snapshot with every other.
     */
    List<String> localTiersHolding(String snapshotId);

    /** @return counters of each tier, fastest first */
    List<TierStats> tierStats();

    /** Deletes chunks no manifest references; safe while snapshots are being written. */
    GcResult gc();

    /**
     * Objects of another kind than snapshots in the store's S3 tier, under {@code namespace/}
     * (function-to-function transfers written through for durability, for instance).
     *
     * @param namespace 1-32 lower-case letters, digits or {@code -}; not {@code c} or {@code m},
     *     which are the store's own
     * @throws StoreException.InvalidArgument naming a bad namespace
     */
    ScratchObjects scratch(String namespace);

    /** Stops background uploads (they resume when a store on the same root opens) and releases every resource. */
    @Override
    void close();

    /** Collects a store's settings; see each method for its default. */
    final class Builder {
        private Path root;
        private byte[] secret;
        private int chunkSize = 512 * 1024;
        private long memoryBytes = 256L << 20;
        private long diskBytes = 8L << 30;
        private S3Config s3;
        private String embeddedBucket = "thaw-snapshots";
        private int fetchThreads = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
        private int uploadThreads = 4;
        private Duration gcGrace = Duration.ofMinutes(10);
        private Duration backoffMin = Duration.ofMillis(250);
        private Duration backoffMax = Duration.ofSeconds(30);
        private Duration s3CallTimeout = Duration.ofSeconds(30);
        private boolean encryption = true;
        private java.util.function.BooleanSupplier quiet;
        private boolean warmUpReads;
        private Duration fillWait = Duration.ofSeconds(2);

        Builder() {
        }

        /** The store's directory: the disk tier, and the embedded S3 server's data when no {@link #s3} is given. */
        public Builder root(Path value) {
            this.root = value;
            return this;
        }

        /** The store secret (at least 32 bytes) every key and object name derives from; copied, never logged. */
        public Builder secret(byte[] value) {
            this.secret = value == null ? null : value.clone();
            return this;
        }

        /** Chunk size, a multiple of 4096 (default 512 KiB; 64 KiB and 2 MiB are typical alternatives). */
        public Builder chunkSize(int value) {
            this.chunkSize = value;
            return this;
        }

        /** Bound of the memory tier in bytes (default 256 MiB; 0 disables it). */
        public Builder memoryBytes(long value) {
            this.memoryBytes = value;
            return this;
        }

        /** Bound of the disk tier in bytes (default 8 GiB). */
        public Builder diskBytes(long value) {
            this.diskBytes = value;
            return this;
        }

        /** An external S3-compatible service; without it the store runs an {@link EmbeddedS3} under {@code root/s3}. */
        public Builder s3(S3Config value) {
            this.s3 = value;
            return this;
        }

        /** Bucket of the embedded S3 server (default {@code thaw-snapshots}). */
        public Builder embeddedBucket(String value) {
            this.embeddedBucket = value;
            return this;
        }

        /** Threads fetching chunks in parallel for reads (default max(4, 2 x cores)). */
        public Builder fetchThreads(int value) {
            this.fetchThreads = value;
            return this;
        }

        /** Concurrent chunk uploads to S3 (default 4). */
        public Builder uploadThreads(int value) {
            this.uploadThreads = value;
            return this;
        }

        /** Unreferenced chunks younger than this survive a gc (default 10 minutes): protects other writers of a shared bucket. */
        public Builder gcGrace(Duration value) {
            this.gcGrace = value;
            return this;
        }

        /** Backoff between upload retries while S3 is unreachable, doubling from min to max (default 250 ms to 30 s). */
        public Builder uploadBackoff(Duration min, Duration max) {
            this.backoffMin = min;
            this.backoffMax = max;
            return this;
        }

        /** Timeout of one S3 call, retries included (default 30 s). */
        public Builder s3CallTimeout(Duration value) {
            this.s3CallTimeout = value;
            return this;
        }

        /**
         * Whether new snapshots' chunks are encrypted (default true). Off only to measure what
         * encryption costs: chunks are then stored in plaintext (still named by keyed hashes and
         * re-hashed on every read); manifests are always encrypted. Snapshots written either way
         * stay readable by a store built either way.
         */
        public Builder encryption(boolean value) {
            this.encryption = value;
            return this;
        }

        /**
         * Tells the store when the node is quiet (no instance starting or serving, no invocation
         * waiting; a node answers for a spell of that, not an instant, so that background work does
         * not start in the gaps between a client's calls), so that its background work waits for the
         * cores instead of taking them from a cold start or a warm call: the disk tier's fills (a file
         * write and an fsync per chunk read from S3), never longer than two seconds after a fill was
         * queued so that a node never quiet still fills its disk, and the read warm-up. A Spring Boot
         * restore from S3 alone fills ~155 MB: ~20 % faster when the disk fill waits (5 alternating
         * pairs in one node). Default: never waits.
         *
         * @param quiet whether the node has nothing more urgent for the cores now; null: never wait
         */
        public Builder quietWhen(java.util.function.BooleanSupplier quiet) {
            this.quiet = quiet;
            return this;
        }

        /**
         * Compiles the store's read path before the first restores from S3 (off by default; with the
         * embedded S3 server only): a background thread puts a few throw-away chunks there and reads
         * them back, about 4,000 GETs, then deletes them, so that a fresh node's first restores from S3
         * do not pay for the JIT. It reads only while the node is quiet ({@link #quietWhen}) and pauses
         * otherwise, so the warm-up never competes with a boot or a restore. Tests, which open many
         * short-lived stores, leave it off.
         */
        public Builder warmUpReads(boolean value) {
            this.warmUpReads = value;
            return this;
        }

        /** How long a fill waits for a busy node at most (tests shorten or lengthen the 2 s). */
        Builder fillWaitLimit(Duration value) {
            this.fillWait = value;
            return this;
        }

        /** Opens the store, resuming uploads of snapshots not yet durable. */
        public SnapshotStore build() {
            return DefaultSnapshotStore.open(new StoreConfig(root, secret, chunkSize, memoryBytes, diskBytes, s3,
                    embeddedBucket, fetchThreads, uploadThreads, gcGrace, backoffMin, backoffMax, s3CallTimeout, encryption,
                    quiet, warmUpReads, fillWait));
        }
    }
}
