package dev.thaw.store;

import java.lang.System.Logger.Level;
import java.util.List;

/*
 * Reading one chunk: ask each tier, fastest first. The first copy found is opened (GCM tag, length,
 * plaintext hash). A copy that fails in a local tier is discarded there and the next tier is asked:
 * a damaged cache heals itself from S3. A copy that fails in the last tier is reported as corrupted
 * and never returned. Every copy that fails is counted against its tier (an integrity failure and
 * an error, by MeteredTier) and logged as one line naming the snapshot, file, chunk and tier, without
 * a stack trace: a bad chunk is a fact about stored data, not a bug in the code that found it. A verified copy is written back into every faster tier that missed it. When
 * no tier has the chunk, the error says whether S3 was unreachable (try later) or the chunk is gone.
 *
 * Filling the memory tier is an allocation and a copy of the lent bytes, and happens inline: a
 * restore reads some chunks twice, and the second read must find them. Filling the disk tier costs a
 * write and an fsync per chunk, so it is handed to a background filler and a restore reading from S3
 * never waits for its local copy. Best effort, bounded in bytes rather than chunks: up to 256 MiB of
 * sealed chunks wait for the filler, so a whole image read from S3 is cached on disk whatever its
 * chunk size (with a bound of 1,024 chunks, a Spring Boot image of ~2,400 64 KiB chunks was only
 * partly refilled, and its next restore went back to S3 for the rest); beyond that, fills are
 * dropped. (Deferring the memory fills too, holding chunks from S3 until then, was measured and
 * dropped: REAP restores from the memory tier came out 2-17 ms slower in 6 of 6 cells of alternating
 * benchmark runs, and the other cells did not gain.)
 *
 * A disk fill also waits while the node says it is busy, starting or serving instances (at most
 * fillWait after it was queued, 2 s in nodes): an eager restore from S3 alone queues its whole image, and
 * writing it meanwhile took a fifth of the node's CPU during the restore (ext4 inode allocation,
 * copies, I/O submission) on two cores that CRIU, the S3 server and the decryption need; and the
 * first invocation of a restored instance, which its cold start includes, runs right after.
 */
/** Fetches, verifies and promotes single chunks across the tiers. */
final class ChunkReader {
    private static final System.Logger LOG = System.getLogger(ChunkReader.class.getName());
    /** At most this many sealed bytes wait for the disk filler; fills beyond are dropped. */
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
                // counted by the tier (MeteredTier.read); logged here, where the snapshot, file and chunk are known
                String where = describe(snapshotId, file, index, ref) + " in tier " + tier.name();
                if (!tier.local()) {
                    LOG.log(Level.ERROR, "integrity failure: {0}: {1}; not returned", where, f.getMessage());
                    throw new StoreException.Corrupted(where + " is corrupted: " + f.getMessage() + "; it was not returned", null);
                }
                LOG.log(Level.WARNING, "integrity failure: {0}: {1}; discarded, fetching it from the next tier",
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
     * Writes a verified object into the tiers faster than the one it was found in: the memory tier
     * now, copied from the lent bytes (a restore often reads a chunk twice, and the second read must
     * find it there), the disk tier on the background filler from an array (the S3 tier's own, so no
     * copy), once the node is no longer busy.
     */
    private void promote(String name, java.lang.foreign.MemorySegment sealed, int foundAt) {
        for (int j = 0; j < foundAt; j++) {
            MeteredTier tier = tiers.get(j);
            if (tier.name().equals("memory")) {
                fill(tier, name, () -> tier.put(name, sealed));
            } else {
                byte[] copy = arrayOf(sealed);
                later(copy.length, () -> fill(tier, name, () -> tier.put(name, copy)));
            }
        }
    }

    /** Hands a fill of {@code bytes} to the background filler, or drops it when the filler is too far behind. */
    private void later(long bytes, Runnable fill) {
        if (pendingFillBytes.addAndGet(bytes) > MAX_PENDING_FILL_BYTES) {
            pendingFillBytes.addAndGet(-bytes);
            LOG.log(Level.DEBUG, "not cached on disk: the filler is {0} MiB behind", MAX_PENDING_FILL_BYTES >> 20);
            return;
        }
        long queuedAt = System.nanoTime();
        filler.execute(() -> {
            try {
                awaitNotBusy(queuedAt);
                fill.run();
            } finally {
                pendingFillBytes.addAndGet(-bytes);
            }
        });
    }

    /** Runs a fill; a full or failing cache must not fail a read that succeeded. */
    private static void fill(MeteredTier tier, String name, Runnable put) {
        try {
            put.run();
        } catch (StoreException e) {
            LOG.log(Level.DEBUG, "not cached in {0}: {1}", tier.name(), e.getMessage());
        }
    }
}
