package dev.thaw.node.snapshot;

import dev.thaw.lazy.ImageIndex;
import dev.thaw.lazy.PageSource;
import dev.thaw.store.FetchTally;
import dev.thaw.store.ImageFile;
import dev.thaw.store.SnapshotManifest;
import dev.thaw.store.SnapshotStore;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/*
 * A lazy restore's page source backed by the snapshot store. A fault asks for one page, but the
 * store verifies and decrypts whole chunks: decrypting 512 KiB for each 4 KiB fault would make the
 * lazy baseline ten times slower than it needs to be. So this source reads whole chunks and keeps
 * the most recent ones of this restore in plaintext (up to 64 MiB, dropped once every page is installed), and
 * faults in a chunk already fetched cost no fetch: with a cache of 16 chunks, the 15,000 scattered
 * faults of the Spring Boot example decrypted 3.6 GB for 60 MB of pages.
 *
 * With read-ahead (for sequential readers: a page server streaming a whole image), reading chunk i
 * in order (readInOrder; a fault's read never reads ahead) also starts fetching the next chunks on
 * other threads, so decryption runs on the other core while the page server installs what it
 * already has. Bytes are counted per tier in the tally.
 *
 * The plaintext lives in buffers borrowed from the node's ChunkBuffers, not in an array per chunk
 * (an eager Spring Boot restore streams ~155 MB through here). A buffer goes back once nobody holds
 * its chunk: the cache (until the chunk is evicted or the source closed), the fetch filling it, and
 * each reader copying out of it. Those holds are counted under the cache's lock, so a chunk evicted
 * while a fault still copies from it is not handed to another chunk under the copy.
 */
/** Serves a lazy restore's pages from the snapshot store, chunk by chunk. */
public final class StorePageSource implements PageSource {
    /** Plaintext kept per restore by default: enough that the faults of a JVM's working set rarely decrypt a chunk twice. */
    static final long KEPT_BYTES = 64L << 20;
    private static final int MIN_CACHED_CHUNKS = 16;

    private final SnapshotStore store;
    private final String snapshotId;
    private final SnapshotManifest manifest;
    private final FetchTally tally;
    private final int readAhead;
    private final Executor fetcher;
    private final ChunkBuffers buffers;
    private final int cachedChunks;
    /** The chunks kept, most recently used last; guards every {@link Chunk#holders}. */
    private final Map<String, Chunk> recent;

    /**
     * @param readAheadBytes how many bytes past the chunk read to fetch ahead, in whole chunks (at
     *                       least one, at most half the chunks kept); 0 for random access
     * @param keptBytes how much plaintext to keep, in whole chunks (at least 16)
     * @param fetcher where read-ahead fetches run
     * @param buffers where the plaintext buffers come from and go back to
     */
    StorePageSource(SnapshotStore store, String snapshotId, FetchTally tally, long readAheadBytes, long keptBytes,
            Executor fetcher, ChunkBuffers buffers) {
        this.store = store;
        this.snapshotId = snapshotId;
        this.manifest = store.manifest(snapshotId);
        this.tally = tally;
        this.cachedChunks = (int) Math.max(MIN_CACHED_CHUNKS, keptBytes / manifest.chunkSize());
        this.readAhead = readAheadBytes == 0 ? 0
                : (int) Math.min(Math.max(1, readAheadBytes / manifest.chunkSize()), cachedChunks / 2);
        this.fetcher = fetcher;
        this.buffers = buffers;
        this.recent = new LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Chunk> eldest) {
                if (size() <= cachedChunks) {
                    return false;
                }
                release(eldest.getValue());
                return true;
            }
        };
    }

    /**
     * Starts fetching the first chunks of every page file on the read-ahead threads: a stream of the
     * whole image starts there, once CRIU has created the mappings, and then finds them decrypted.
     */
    public void readAheadFromStart() {
        for (ImageFile image : manifest.files()) {
            if (ImageIndex.isPagesFile(image.name())) {
                for (int i = 0; i < readAhead && (long) i * manifest.chunkSize() < image.size(); i++) {
                    start(image.name(), image, (long) i * manifest.chunkSize(), true);
                }
            }
        }
    }

    /**
     * Drops the plaintext kept for this restore. Called as soon as nothing will read the source any
     * more (a streamed image is installed, or the instance is gone): chunks kept for the whole life of
     * an instance survive enough collections to reach the old generation, whose collection then copies
     * and marks them on the cores restores need (they were 187 of the 197 old objects JFR sampled in a
     * restore benchmark). Their buffers go back to the node's pool. A read after this fetches again.
     */
    @Override
    public void close() {
        synchronized (recent) {
            recent.values().forEach(this::release);
            recent.clear();
        }
    }

    /** @return the bytes of the decrypted chunks kept now */
    long cachedBytes() {
        synchronized (recent) {
            long bytes = 0;
            for (Chunk chunk : recent.values()) {
                bytes += chunk.loaded.isDone() && !chunk.loaded.isCompletedExceptionally() ? chunk.length : 0;
            }
            return bytes;
        }
    }

    @Override
    public long readUnit() {
        return manifest.chunkSize();
    }

    /** Reads without reading ahead: a fault, or a restore that serves faults only. */
    @Override
    public void read(long pagesId, long offset, MemorySegment dst) {
        read(pagesId, offset, dst, 0);
    }

    /**
     * Reads, and starts fetching the chunks that follow on the read-ahead threads. Only a stream
     * through the file reads ahead: when every fault of an eager restore (200-300 for Spring Boot,
     * where the restored JVM runs ahead of the stream) read 16 MB ahead of itself too, the restore
     * decrypted 2.5-4x its image (424-750 MB for 155 MB of pages) and pushed the stream's own
     * chunks out of the cache.
     */
    @Override
    public void readInOrder(long pagesId, long offset, MemorySegment dst) {
        read(pagesId, offset, dst, readAhead);
    }

    private void read(long pagesId, long offset, MemorySegment dst, int ahead) {
        String file = ImageIndex.pagesFileName(pagesId);
        ImageFile image = manifest.file(file).orElseThrow(() -> new IllegalStateException(
                "snapshot '" + snapshotId + "' has no " + file));
        int chunkSize = manifest.chunkSize();
        long done = 0;
        while (done < dst.byteSize()) {
            long at = offset + done;
            long chunkStart = at - at % chunkSize;
            Chunk chunk = hold(file, image, chunkStart);
            try {
                for (int i = 1; i <= ahead && chunkStart + (long) i * chunkSize < image.size(); i++) {
                    start(file, image, chunkStart + (long) i * chunkSize, true);
                }
                int from = (int) (at - chunkStart);
                int n = (int) Math.min(dst.byteSize() - done, chunk.length - from);
                if (n <= 0) {
                    throw new IllegalStateException("bytes [" + offset + ", +" + dst.byteSize() + ") are past the end of "
                            + file + " of snapshot '" + snapshotId + "' (" + image.size() + " bytes)");
                }
                MemorySegment.copy(chunk.bytes, from, dst, ValueLayout.JAVA_BYTE, done, n);
                done += n;
            } finally {
                release(chunk);
            }
        }
    }

    /** @return the chunk, fetched (here, unless a read-ahead already is), held for the caller to release */
    private Chunk hold(String file, ImageFile image, long chunkStart) {
        Chunk chunk = start(file, image, chunkStart, false);
        try {
            chunk.loaded.join();
            return chunk;
        } catch (CompletionException e) {
            release(chunk);
            throw e.getCause() instanceof RuntimeException re ? re : e;
        }
    }

    /**
     * Starts the chunk's fetch unless it already was: on the fetcher for read-ahead, else here.
     *
     * @return the chunk; for a reader ({@code ahead} false) held once more, for it to release
     */
    private Chunk start(String file, ImageFile image, long chunkStart, boolean ahead) {
        String key = file + "@" + chunkStart;
        Chunk chunk;
        synchronized (recent) {
            chunk = recent.get(key);
            if (chunk != null && !(chunk.loaded.isCompletedExceptionally() && !ahead)) {
                chunk.holders += ahead ? 0 : 1;
                return chunk;
            }
            int length = (int) Math.max(0, Math.min(manifest.chunkSize(), image.size() - chunkStart));
            // held by the cache and by the fetch below, and by the reader
            Chunk fresh = new Chunk(buffers.take(manifest.chunkSize()), length, ahead ? 2 : 3);
            Chunk failed = recent.put(key, fresh);
            if (failed != null) {
                release(failed);
            }
            chunk = fresh;
        }
        Chunk target = chunk;
        Runnable load = () -> {
            RuntimeException failure = null;
            try {
                store.readInto(snapshotId, file, chunkStart, MemorySegment.ofArray(target.bytes).asSlice(0, target.length),
                        tally, arrived -> { });
            } catch (RuntimeException e) {
                failure = e;
            }
            // The fetch lets go before its waiters wake: each of them holds the chunk itself
            release(target);
            if (failure == null) {
                target.loaded.complete(null);
            } else {
                target.loaded.completeExceptionally(failure);
            }
        };
        if (ahead) {
            fetcher.execute(load);
        } else {
            load.run();
        }
        return target;
    }

    /** Lets go of one hold on the chunk; the last one gives its buffer back. */
    private void release(Chunk chunk) {
        synchronized (recent) {
            if (--chunk.holders == 0) {
                buffers.give(chunk.bytes);
            }
        }
    }

    /** A chunk's plaintext, in a pooled buffer of which the first {@code length} bytes are the chunk's. */
    private static final class Chunk {
        final byte[] bytes;
        final int length;
        final CompletableFuture<Void> loaded = new CompletableFuture<>();
        /** Guarded by the source's cache lock. */
        int holders;

        Chunk(byte[] bytes, int length, int holders) {
            this.bytes = bytes;
            this.length = length;
            this.holders = holders;
        }
    }
}
