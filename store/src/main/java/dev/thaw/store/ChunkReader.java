package dev.thaw.store;

import java.lang.System.Logger.Level;
import java.util.List;

/*
 * Reading one chunk: ask each tier, fastest first. The first copy found is opened (GCM tag, length,
 * plaintext hash). A copy that fails in a local tier is discarded there and the next tier is asked:
 * a damaged cache heals itself from S3. A copy that fails in the last tier is reported as corrupted
 * and never returned. A verified copy is written back into every faster tier that missed it. When
 * no tier has the chunk, the error says whether S3 was unreachable (try later) or the chunk is gone.
 *
 * Fills run on a background filler, never on the read path: filling the disk tier costs a write
 * and an fsync per chunk, filling the memory tier an allocation (zeroed) and a copy, and a restore
 * reading from S3 or disk waits for neither. Best effort, bounded in bytes rather than chunks: up to
 * 256 MiB of sealed chunks wait for the filler, so a whole image read from S3 is cached whatever its
 * chunk size (with a bound of 1,024 chunks, a Spring Boot image of ~2,400 64 KiB chunks was only
 * partly refilled, and its next restore went back to S3 for the rest); beyond that, the memory tier
 * is filled inline and the disk fill dropped. Chunks from S3 that wait for their fill are read from
 * where they wait, so a chunk read twice is fetched once.
 *
 * A fill also waits while the node says it is busy, starting or serving instances (at most
 * fillWait after it was queued, 2 s in nodes): an eager restore from S3 alone queues its whole image, and
 * writing it meanwhile took a fifth of the node's CPU during the restore (ext4 inode allocation,
 * copies, I/O submission) on two cores that CRIU, the S3 server and the decryption need; and the
 * first invocation of a restored instance, which its cold start includes, runs right after.
 */
/** Fetches, verifies and promotes single chunks across the tiers. */
final class ChunkReader {
    private static final System.Logger LOG = System.getLogger(ChunkReader.class.getName());
    /** At most this many sealed bytes wait for the filler; beyond, the memory tier is filled inline and the disk not at all. */
    static final long MAX_PENDING_FILL_BYTES = 256L << 20;
    private static final long FILL_POLL_NANOS = 10_000_000;

    private final List<MeteredTier> tiers;
    private final StoreKeys keys;
    private final ChunkCodec codec;
    private final java.util.concurrent.Executor filler;
    /** Whether the node is busy starting or serving instances (fills wait for it), or null: fills never wait. */
    private final java.util.function.BooleanSupplier busy;
    /** How long after it was queued a fill waits for a busy node at most. */
    private final java.time.Duration fillWait;
    /**
     * Objects read from S3 whose fills have not run yet, by name: reads find them here first, as in
     * the memory tier they are on their way to.
     */
    private final java.util.concurrent.ConcurrentHashMap<String, byte[]> awaitingFill = new java.util.concurrent.ConcurrentHashMap<>();
    /** Sealed bytes handed to the filler and not yet written. */
    private final java.util.concurrent.atomic.AtomicLong pendingFillBytes = new java.util.concurrent.atomic.AtomicLong();

    ChunkReader(List<MeteredTier> tiers, StoreKeys keys, ChunkCodec codec, java.util.concurrent.Executor filler,
                java.util.function.BooleanSupplier busy, java.time.Duration fillWait) {
        this.tiers = tiers;
        this.keys = keys;
        this.codec = codec;
        this.filler = filler;
        this.busy = busy;
        this.fillWait = fillWait;
    }

    /** @return the verified plaintext of chunk {@code index} of {@code file} in {@code snapshotId} */
    byte[] fetch(SnapshotManifest m, String file, int index, ChunkRef ref, FetchTally tally) {
        return fetch(m, file, index, ref, tally, (hash, name, sealed) -> codec.open(hash, name, sealed, ref.length(), m.plainChunks()));
    }

    /** Writes the verified plaintext of the chunk into {@code dest}, exactly its length, without an array of its own. */
    void fetchInto(SnapshotManifest m, String file, int index, ChunkRef ref, FetchTally tally, java.lang.foreign.MemorySegment dest) {
        fetch(m, file, index, ref, tally, (hash, name, sealed) -> {
            codec.openInto(hash, name, sealed, m.plainChunks(), dest);
            return Boolean.TRUE;
        });
    }

    /** Verifies a sealed copy and returns what the caller wants of it. */
    @FunctionalInterface
    private interface Opener<T> {
        T open(byte[] hash, String objectName, java.lang.foreign.MemorySegment sealed) throws IntegrityFailure;
    }

    private <T> T fetch(SnapshotManifest m, String file, int index, ChunkRef ref, FetchTally tally, Opener<T> opener) {
        String snapshotId = m.snapshotId();
        byte[] hash = ChunkCodec.unhex(ref.hash());
        String name = keys.chunkObject(hash, m.plainChunks());
        byte[] awaiting = awaitingFill.get(name);
        if (awaiting != null) {
            try {
                T opened = opener.open(hash, name, java.lang.foreign.MemorySegment.ofArray(awaiting));
                tally.add("memory", ref.length());
                return opened;
            } catch (IntegrityFailure f) {
                // verified when it was fetched, so only a bug gets here: read it from the tiers
                LOG.log(Level.WARNING, "{0} awaiting its fill failed verification ({1})", describe(snapshotId, file, index, ref),
                        f.getMessage());
            }
        }
        StoreException.Unavailable unreachable = null;
        for (int i = 0; i < tiers.size(); i++) {
            MeteredTier tier = tiers.get(i);
            int foundAt = i;
            try {
                // the object is lent where the tier can (memory: its native bytes; disk: the file
                // mapped), and the faster tiers that missed it are filled while it is lent
                T opened = tier.read(name, sealed -> {
                    T result = opener.open(hash, name, sealed);
                    promote(name, sealed, foundAt);
                    return result;
                });
                if (opened == null) {
                    continue;
                }
                tally.add(tier.name(), ref.length());
                return opened;
            } catch (StoreException.Unavailable e) {
                unreachable = e;
            } catch (IntegrityFailure f) {
                String where = describe(snapshotId, file, index, ref) + " in tier " + tier.name();
                if (!tier.local()) {
                    throw new StoreException.Corrupted(where + " is corrupted: " + f.getMessage() + "; it was not returned", null);
                }
                LOG.log(Level.WARNING, "{0} failed verification ({1}): discarded, fetching it from the next tier",
                        where, f.getMessage());
                tier.discard(name);
            }
        }
        if (unreachable != null) {
            throw new StoreException.Unavailable(describe(snapshotId, file, index, ref)
                    + " is in no local tier and the remote tier is unreachable: " + unreachable.getMessage(), unreachable);
        }
        throw new StoreException.Corrupted(describe(snapshotId, file, index, ref) + " is missing from every tier ("
                + String.join(", ", tiers.stream().map(MeteredTier::name).toList()) + ")", null);
    }

    /** @return the bytes of a heap segment over a whole array (what tiers other than memory lend), or a copy */
    private static byte[] arrayOf(java.lang.foreign.MemorySegment sealed) {
        return sealed.heapBase().filter(base -> base instanceof byte[] b && b.length == sealed.byteSize())
                .map(byte[].class::cast).orElseGet(() -> sealed.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
    }

    /** Parks the filler while the node is busy, up to {@link #fillWait} after {@code queuedAt}. */
    private void awaitNotBusy(long queuedAt) {
        if (busy == null) {
            return;
        }
        long deadline = queuedAt + fillWait.toNanos();
        while (busy.getAsBoolean() && System.nanoTime() - deadline < 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(FILL_POLL_NANOS);
        }
    }

    static String describe(String snapshotId, String file, int index, ChunkRef ref) {
        return "chunk " + index + " (offset " + ref.offset() + ", " + ref.length() + " bytes) of file '" + file
                + "' of snapshot '" + snapshotId + "'";
    }

    /**
     * Writes a verified object into the tiers faster than the one it was found in, on the background
     * filler, once the node is no longer busy: allocating, zeroing and copying every chunk into the
     * memory tier's native memory (~40 ms of CPU for a Spring Boot image) and writing it to disk
     * would otherwise run on the restore's fetch threads and cores.
     *
     * An object from S3 waits for its fills in {@link #awaitingFill}, where a second read finds it
     * (a restore often reads a chunk twice; that read must not go to S3 again). An object from the
     * disk tier is copied into the memory tier from the disk again; until then a second read maps the
     * file from the page cache. When the filler is too far behind, the memory tier is filled now and
     * the disk fill is dropped.
     */
    private void promote(String name, java.lang.foreign.MemorySegment sealed, int foundAt) {
        MeteredTier source = tiers.get(foundAt);
        MeteredTier memory = tiers.get(0).name().equals("memory") ? tiers.get(0) : null;
        if (source.local()) {
            if (memory != null && foundAt > 0) {
                // holds no bytes, but counts against the bound all the same: it bounds the queue
                later(sealed.byteSize(), () -> { }, () -> fill(memory, name, () -> source.unwrap().read(name, copy -> {
                    memory.put(name, copy);
                    return Boolean.TRUE;
                })));
            }
            return;
        }
        byte[] copy = arrayOf(sealed);
        List<MeteredTier> faster = tiers.subList(0, foundAt);
        boolean queued = later(copy.length, () -> awaitingFill.put(name, copy), () -> {
            try {
                faster.forEach(tier -> fill(tier, name, () -> tier.put(name, copy)));
            } finally {
                awaitingFill.remove(name, copy);
            }
        });
        if (!queued && memory != null) {
            fill(memory, name, () -> memory.put(name, sealed));
        }
    }

    /**
     * Hands a fill of {@code bytes} to the background filler ({@code before} runs first, here), or
     * drops it when the filler is too far behind.
     *
     * @return whether it was handed over
     */
    private boolean later(long bytes, Runnable before, Runnable fill) {
        if (pendingFillBytes.addAndGet(bytes) > MAX_PENDING_FILL_BYTES) {
            pendingFillBytes.addAndGet(-bytes);
            LOG.log(Level.DEBUG, "not cached: the filler is {0} MiB behind", MAX_PENDING_FILL_BYTES >> 20);
            return false;
        }
        before.run();
        long queuedAt = System.nanoTime();
        filler.execute(() -> {
            try {
                awaitNotBusy(queuedAt);
                fill.run();
            } finally {
                pendingFillBytes.addAndGet(-bytes);
            }
        });
        return true;
    }

    /** Writing an object into a faster tier. */
    @FunctionalInterface
    private interface Fill {
        void run() throws IntegrityFailure;
    }

    /** Runs a fill; a full or failing cache, or an object gone meanwhile, must not fail a read that succeeded. */
    private static void fill(MeteredTier tier, String name, Fill fill) {
        try {
            fill.run();
        } catch (StoreException | IntegrityFailure e) {
            LOG.log(Level.DEBUG, "not cached in {0}: {1}", tier.name(), e.getMessage());
        }
    }
}
