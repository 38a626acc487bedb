package dev.thaw.store;

import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.function.BooleanSupplier;

/*
 * Compiles the read path of restores from S3 before the first restore needs it.
 *
 * A fresh node reads its first chunks from the embedded S3 server through code the JIT has not
 * compiled yet, on both sides of every GET: the SDK's request pipeline and HTTP client, S3Proxy's
 * signature check, jclouds and Jetty, then the store's reader. Cold, that path costs about 2 ms
 * per request whatever the object's size, and the compilations it triggers take the cores the
 * restore needs. New nodes are exactly the ones whose local tiers are empty, so their restores go
 * to S3 (scale-out, a node replaced): the cost is paid at start, in the background, instead.
 *
 * How: a few throw-away chunks, sealed under a throw-away key (never the store secret), are put in
 * the S3 tier and read back through the store's own reader (a SnapshotReader over a ChunkReader of
 * the S3 tier alone, unmetered, so tier statistics show real traffic only) on threads of their own,
 * so restores never queue behind them; both reads restores use are exercised (whole chunks into
 * arrays, as the page server reads, and ranges decrypted into native memory, as working sets are).
 * Then the objects are deleted. Their names look like chunk names: if the node dies before deleting
 * them, the garbage collector removes them as unreferenced chunks once its grace period has passed.
 *
 * Only with the embedded server: against a remote S3 the GETs would cost requests, and the network
 * would dominate the cold code anyway.
 */
/** Reads throw-away chunks from the S3 tier in the background until its read path is compiled. */
final class ReadWarmUp implements Runnable {
    private static final System.Logger LOG = System.getLogger(ReadWarmUp.class.getName());
    /** Chunks per round: as many as the fetch threads of a restore keep busy. */
    static final int CHUNKS = 8;
    /**
     * As many GETs as some 40 restores of a small function make: on a node that had made as many,
     * json-transform restored from S3 only in half the time of a fresh node (store/README.md).
     */
    static final int MAX_GETS = 4_000;
    /** Reading stops after this long spent reading... */
    private static final long MAX_READING_NANOS = 30_000_000_000L;
    /** ...or this long after it started, pauses included: a node busy for that long is warm anyway. */
    private static final long MAX_NANOS = 600_000_000_000L;
    private static final long PAUSE_NANOS = 50_000_000L;
    private static final String FILE = "pages-1.img";

    private final ObjectTier s3;
    private final int chunkSize;
    private final ExecutorService pool;
    private final int maxGets;
    private final BooleanSupplier quiet;
    private final BooleanSupplier stopped;
    private volatile int gets;

    /**
     * @param s3 the S3 tier, unmetered
     * @param pool the threads the reads run on (at least two), not the store's fetch pool
     * @param maxGets the GETs after which it stops (it also stops after 30 s of reading)
     * @param quiet whether it may read now; while false, it pauses
     * @param stopped true once the store is closing
     */
    ReadWarmUp(ObjectTier s3, int chunkSize, ExecutorService pool, int maxGets, BooleanSupplier quiet,
               BooleanSupplier stopped) {
        this.s3 = s3;
        this.chunkSize = chunkSize;
        this.pool = pool;
        this.maxGets = maxGets;
        this.quiet = quiet;
        this.stopped = stopped;
    }

    /** @return the GETs made so far */
    int gets() {
        return gets;
    }

    @Override
    public void run() {
        StoreKeys throwAway = new StoreKeys(new byte[32]);
        ChunkCodec codec = new ChunkCodec(throwAway);
        SnapshotManifest m = putChunks(throwAway, codec);
        if (m == null) {
            return;
        }
        long start = System.nanoTime();
        long reading = 0;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment dest = arena.allocate((long) CHUNKS * chunkSize, 4096);
            SnapshotReader reader = new SnapshotReader(new ChunkReader(List.of(new MeteredTier(s3)), throwAway, codec,
                    Runnable::run, null, java.time.Duration.ZERO), pool, 2 * CHUNKS);
            FetchTally tally = new FetchTally();
            for (int round = 0; gets < maxGets && reading < MAX_READING_NANOS && awaitQuiet(start); round++) {
                long roundStart = System.nanoTime();
                if (round % 2 == 0) {
                    reader.readInto(m, FILE, 0, dest, tally, arrived -> { });
                    gets += CHUNKS;
                } else {
                    reader.read(m, FILE, (long) (round % CHUNKS) * chunkSize, chunkSize, tally);
                    gets++;
                }
                reading += System.nanoTime() - roundStart;
            }
            LOG.log(Level.DEBUG, "S3 read warm-up: {0} GETs, {1} ms reading, {2} ms in all", gets, reading / 1_000_000,
                    (System.nanoTime() - start) / 1_000_000);
        } catch (RuntimeException e) {
            // a warm-up that fails (S3 stopped, store closing) leaves nothing to report: restores still work, cold
            LOG.log(Level.DEBUG, "S3 read warm-up stopped after {0} GETs: {1}", gets, e.getMessage());
        } finally {
            deleteChunks(throwAway, m);
        }
    }

    /** @return once it may read (true), or false if it must stop: the store is closing, or it waited too long */
    private boolean awaitQuiet(long start) {
        while (!stopped.getAsBoolean() && System.nanoTime() - start < MAX_NANOS) {
            if (quiet.getAsBoolean()) {
                return true;
            }
            java.util.concurrent.locks.LockSupport.parkNanos(PAUSE_NANOS);
        }
        return false;
    }

    /** @return a manifest of {@link #CHUNKS} random chunks now in the S3 tier, or null if S3 refused them */
    private SnapshotManifest putChunks(StoreKeys throwAway, ChunkCodec codec) {
        SplittableRandom random = new SplittableRandom(chunkSize);
        List<ChunkRef> refs = new ArrayList<>();
        byte[] plain = new byte[chunkSize];
        try {
            for (int i = 0; i < CHUNKS && !stopped.getAsBoolean(); i++) {
                random.nextBytes(plain);
                byte[] hash = ChunkCodec.sha256(plain, 0, plain.length);
                String name = throwAway.chunkObject(hash);
                s3.put(name, codec.seal(hash, name, plain, 0, plain.length, false));
                refs.add(new ChunkRef(ChunkCodec.hex(hash), (long) i * chunkSize, chunkSize, false));
            }
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, "S3 read warm-up not started: {0}", e.getMessage());
        }
        if (refs.size() < CHUNKS) { // S3 refused one, or the store is closing
            deleteChunks(throwAway, refs);
            return null;
        }
        return new SnapshotManifest(SnapshotManifest.FORMAT, "thaw-warm-up@v0", System.currentTimeMillis(), chunkSize,
                false, List.of(new ImageFile(FILE, (long) CHUNKS * chunkSize, refs)));
    }

    private void deleteChunks(StoreKeys throwAway, SnapshotManifest m) {
        deleteChunks(throwAway, m.files().getFirst().chunks());
    }

    private void deleteChunks(StoreKeys throwAway, List<ChunkRef> refs) {
        if (stopped.getAsBoolean()) {
            return; // the store is closing: left for the garbage collector
        }
        for (ChunkRef ref : refs) {
            try {
                s3.delete(throwAway.chunkObject(ChunkCodec.unhex(ref.hash())));
            } catch (RuntimeException e) {
                // left for the garbage collector, which removes unreferenced chunks after its grace period
                LOG.log(Level.DEBUG, "S3 read warm-up left a chunk: {0}", e.getMessage());
                return;
            }
        }
    }
}
