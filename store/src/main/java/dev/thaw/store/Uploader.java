package dev.thaw.store;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;

/*
 * Background upload of snapshots to the S3 tier.
 *
 * One thread takes snapshots in submission order; a snapshot's chunks go up in parallel on a
 * bounded pool (skipping those S3 already has), each verified before it leaves (a damaged local
 * copy is never uploaded), then its manifest, last. So a manifest in S3 means every chunk it names
 * is there: "durable" is exactly "the manifest is in S3", which is also how a reopened store finds
 * what it must resume. A failure because S3 is unreachable puts the snapshot back in the queue and
 * waits (backoff doubling from min to max, reset by a success); the chunks stay pinned on disk
 * meanwhile (not evictable, not collectable). A chunk that cannot be uploaded because its only
 * local copy is damaged fails the snapshot's upload for good, logged, and the snapshot stays
 * non-durable.
 */
/** Uploads snapshots to S3 in the background and tracks which are durable. */
final class Uploader implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Uploader.class.getName());

    /** A snapshot waiting for upload, with the sealed manifest captured when it was written. */
    private static final class Pending {
        final SnapshotManifest manifest;
        final byte[] sealedManifest;
        final Pins.Lease lease;
        volatile boolean cancelled;
        volatile boolean deleted;

        Pending(SnapshotManifest manifest, byte[] sealedManifest, Pins.Lease lease) {
            this.manifest = manifest;
            this.sealedManifest = sealedManifest;
            this.lease = lease;
        }
    }

    private final ObjectTier s3;
    private final List<MeteredTier> localTiers;
    private final StoreKeys keys;
    private final ChunkCodec codec;
    private final ExecutorService pool;
    private final Duration backoffMin;
    private final Duration backoffMax;
    private final Map<String, Pending> pending = new ConcurrentHashMap<>();
    private final Set<String> durable = ConcurrentHashMap.newKeySet();
    private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final Thread worker;
    private volatile boolean closed;

    Uploader(ObjectTier s3, List<MeteredTier> localTiers, StoreKeys keys, ChunkCodec codec, ExecutorService pool,
             Duration backoffMin, Duration backoffMax) {
        this.s3 = s3;
        this.localTiers = localTiers;
        this.keys = keys;
        this.codec = codec;
        this.pool = pool;
        this.backoffMin = backoffMin;
        this.backoffMax = backoffMax;
        this.worker = Thread.ofPlatform().daemon().name("thaw-store-upload").unstarted(Background.idle(this::run));
    }

    void start() {
        worker.start();
    }

    /** Queues {@code manifest} for upload; {@code lease} pins its chunks until it is durable or cancelled. */
    void submit(SnapshotManifest manifest, byte[] sealedManifest, Pins.Lease lease) {
        Pending p = new Pending(manifest, sealedManifest, lease);
        durable.remove(manifest.snapshotId());
        Pending previous = pending.put(manifest.snapshotId(), p);
        if (previous != null) {
            previous.cancelled = true;
            previous.lease.release();
        }
        queue.add(p);
    }

    /** Records a snapshot found already in S3: when the store opened, or read from there (another node's upload). */
    void markDurable(String snapshotId) {
        synchronized (durable) {
            durable.add(snapshotId);
            durable.notifyAll();
        }
    }

    /**
     * Stops tracking a deleted snapshot and cancels its upload (an upload whose manifest is already on
     * its way deletes it again from S3).
     *
     * @return whether the snapshot was durable, i.e. has a copy in S3 to delete
     */
    boolean forget(String snapshotId) {
        Pending p = pending.remove(snapshotId);
        if (p != null) {
            p.cancelled = true;
            p.deleted = true;
            p.lease.release();
        }
        return durable.remove(snapshotId);
    }

    boolean isDurable(String snapshotId) {
        return durable.contains(snapshotId);
    }

    boolean awaitDurable(String snapshotId, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (durable) {
            while (!durable.contains(snapshotId)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                durable.wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }

    @Override
    public void close() {
        closed = true;
        worker.interrupt();
        try {
            worker.join(Duration.ofSeconds(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        long backoff = backoffMin.toMillis();
        while (!closed) {
            Pending p;
            try {
                p = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            if (p.cancelled) {
                continue;
            }
            try {
                upload(p);
                backoff = backoffMin.toMillis();
            } catch (StoreException.Unavailable e) {
                queue.add(p);
                LOG.log(Level.INFO, "upload of snapshot ''{0}'' deferred {1} ms: {2}", p.manifest.snapshotId(), backoff,
                        e.getMessage());
                if (!sleep(backoff)) {
                    return;
                }
                backoff = Math.min(backoff * 2, backoffMax.toMillis());
            } catch (StoreException e) {
                if (p.cancelled) {
                    continue;
                }
                LOG.log(Level.WARNING, "upload of snapshot ''{0}'' failed for good: {1}", p.manifest.snapshotId(),
                        e.getMessage());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void upload(Pending p) throws InterruptedException {
        String id = p.manifest.snapshotId();
        List<Future<?>> uploads = new ArrayList<>();
        for (Map.Entry<String, Chunk> c : distinctChunks(p.manifest).entrySet()) {
            uploads.add(pool.submit(() -> {
                if (!p.cancelled) {
                    uploadChunk(p.manifest, c.getKey(), c.getValue());
                }
            }));
        }
        awaitAll(uploads);
        if (p.cancelled) {
            return;
        }
        String manifestKey = keys.manifestObject(id);
        s3.put(manifestKey, p.sealedManifest);
        if (p.deleted) {
            s3.delete(manifestKey);
            return;
        }
        if (pending.remove(id, p)) {
            synchronized (durable) {
                durable.add(id);
                durable.notifyAll();
            }
            p.lease.release();
        }
    }

    /** A chunk of a snapshot, where it first occurs: what a message about it names. */
    private record Chunk(String file, int index, ChunkRef ref) {
    }

    private Map<String, Chunk> distinctChunks(SnapshotManifest m) {
        Map<String, Chunk> out = new LinkedHashMap<>();
        for (ImageFile f : m.files()) {
            for (int i = 0; i < f.chunks().size(); i++) {
                ChunkRef c = f.chunks().get(i);
                if (!c.zero()) {
                    out.putIfAbsent(keys.chunkObject(m, c), new Chunk(f.name(), i, c));
                }
            }
        }
        return out;
    }

    private void uploadChunk(SnapshotManifest m, String name, Chunk chunk) {
        if (s3.exists(name)) {
            return;
        }
        ChunkRef ref = chunk.ref();
        byte[] hash = ChunkCodec.unhex(ref.hash());
        for (MeteredTier tier : localTiers) {
            byte[] sealed = tier.get(name);
            if (sealed == null) {
                continue;
            }
            try {
                codec.open(hash, name, sealed, ref.length(), m.plainChunks());
                s3.put(name, sealed);
                return;
            } catch (IntegrityFailure f) {
                tier.failedVerification();
                LOG.log(Level.WARNING, "integrity failure: {0} in tier {1}: {2}; discarded before its upload",
                        ChunkReader.describe(m.snapshotId(), chunk.file(), chunk.index(), ref), tier.name(), f.getMessage());
                tier.discard(name);
            }
        }
        throw new StoreException.Corrupted("cannot upload " + ChunkReader.describe(m.snapshotId(), chunk.file(),
                chunk.index(), ref) + ": no intact local copy is left", null);
    }

    private static void awaitAll(List<Future<?>> futures) throws InterruptedException {
        RuntimeException first = null;
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (first == null) {
                    first = e.getCause() instanceof RuntimeException re ? re : StoreException.internal("upload failed", e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private boolean sleep(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }
}
