package dev.thaw.node.snapshot;

import dev.thaw.core.FileTrees;
import dev.thaw.core.ThawException;
import dev.thaw.store.GcResult;
import dev.thaw.store.SnapshotStats;
import dev.thaw.store.SnapshotStore;
import dev.thaw.store.TierStats;
import dev.thaw.lazy.ImageIndex;
import dev.thaw.lazy.PageSource;
import dev.thaw.lazy.WorkingSet;
import dev.thaw.node.function.Deployment;
import dev.thaw.node.function.FunctionLog;
import dev.thaw.node.function.FunctionStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Where snapshot images live: a plaintext working copy on tmpfs, which CRIU dumps into and restores
 * from, backed by the encrypted, chunked, tiered {@link SnapshotStore}, which is the durable copy.
 *
 * <p>Every image the node takes is put in the store in the background, after the instance that was
 * checkpointed has resumed and, on a single node, once the node has been quiet for a moment (see
 * {@link #publish}), so publishing never delays an invocation; until the put is done the
 * snapshot is usable locally but not durable. A restore uses the working copy when it is there and
 * otherwise materializes the images from the store first (after a node restart, or once tmpfs was
 * cleared), fetching chunks from the fastest tier that has them. The working copy is RAM, owned by
 * root with owner-only permissions, and removed when the node stops.
 */
public final class SnapshotRepository implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("thaw.node");
    /** What a warmed snapshot's id adds to the id of the snapshot it replaced. */
    static final String WARMED = ".warmed";
    /** Per deployment (the id of its first snapshot), the id of its current one, when that is not the first. */
    private final Map<String, String> current = new java.util.concurrent.ConcurrentHashMap<>();

    private final Path hotRoot;
    private final Optional<SnapshotStore> store;
    /** Stores snapshots, working sets and base images, and deletes them: no invocation waits for it. */
    private final ExecutorService publisher = Executors.newSingleThreadExecutor(SnapshotStore.backgroundThreads(
            Thread.ofPlatform().daemon().name("thaw-snapshot-publisher").factory()));
    /** Fetches chunks ahead of a page server streaming a whole image: the other core decrypts meanwhile. */
    private final ExecutorService readAhead = Executors.newFixedThreadPool(2,
            Thread.ofPlatform().daemon().name("thaw-read-ahead-", 1).factory());
    /** Reads the ranges of pages CRIU restores itself, all at once, when an image without its lazy pages is materialized. */
    private final ExecutorService rangeReaders = Executors.newFixedThreadPool(4,
            Thread.ofPlatform().daemon().name("thaw-image-ranges-", 1).factory());
    private static final String WS_RUNS = "ws.runs";
    private static final String WS_PAGES = "ws.pages";
    static final int WORKING_SET_CHUNK_BYTES = 4 << 20;
    /**
     * How far ahead of a page server streaming a whole image the store is read: far enough that the
     * decryption started when the restore starts runs through CRIU's own part of the restore instead
     * of waiting for the stream. In alternating runs from the disk tier, the stream's install took
     * 95-115 ms for hello with 3 MB read ahead and 67-77 ms with 16 MB (docs/BENCHMARKS.md).
     */
    private static final long STREAM_READ_AHEAD_BYTES = 16L << 20;
    /**
     * Plaintext buffers the page sources reuse: as much as one restore's source keeps, so a node
     * restoring one instance at a time allocates none once warm (see ChunkBuffers).
     */
    private final ChunkBuffers chunkBuffers = new ChunkBuffers(StorePageSource.KEPT_BYTES);
    /** Working sets by snapshot id, once recorded (and stored, when there is a store). */
    private final Map<String, WorkingSet> workingSets = new java.util.concurrent.ConcurrentHashMap<>();
    private final Set<String> storedWorkingSets = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** Per snapshot, how many times its working set was extended by this node (see LazyRestore). */
    private final Map<String, java.util.concurrent.atomic.AtomicInteger> workingSetExtensions =
            new java.util.concurrent.ConcurrentHashMap<>();
    /** Lazy, REAP and streamed restores still holding memory to serve pages (see {@link #restoreHeldBytes}). */
    private final Set<LazyRestore> liveRestores = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * How long a publish is held at most: a node that is never quiet still makes its snapshots
     * durable, this long after they were taken.
     */
    static final Duration PUBLISH_HELD_AT_MOST = Duration.ofSeconds(30);
    private final ForegroundWork foreground;
    /** Snapshots queued for their publish or being stored, by id, until stored or not. */
    private final Map<String, Publish> publishing = new java.util.concurrent.ConcurrentHashMap<>();
    /** Set when the node closes: a publish held then goes ahead at once. */
    private volatile boolean closing;
    /** Callers waiting for a snapshot to be stored ({@link #awaitStored}): held publishes go ahead meanwhile. */
    private final java.util.concurrent.atomic.AtomicInteger storeAwaited = new java.util.concurrent.atomic.AtomicInteger();
    /** The longest an eviction waits for the snapshot it names to be stored. */
    static final Duration EVICT_AWAITS_STORE = Duration.ofSeconds(60);

    /**
     * @param foreground the node's foreground work, which held publishes wait out ({@link #publish})
     */
    public SnapshotRepository(Path hotRoot, Optional<SnapshotStore> store, ForegroundWork foreground) throws IOException {
        this.foreground = foreground;
        this.hotRoot = Files.createDirectories(hotRoot);
        hotRoot.toFile().setReadable(false, false);
        hotRoot.toFile().setExecutable(false, false);
        hotRoot.toFile().setReadable(true, true);
        hotRoot.toFile().setExecutable(true, true);
        this.store = store;
    }

    /** @return the working-copy directory of a deployment's snapshot */
    public Path hotDir(Deployment d) {
        return hotRoot.resolve(d.name()).resolve("v" + d.version());
    }

    /**
     * @param warmedAfter the invocations the snapshot's instance had served when it was taken: 0 for
     *     the snapshot taken after init, else the warmed one that replaced it
     * @return the snapshot's id in the store. A warmed snapshot has an id of its own: in a cluster the
     *     other nodes keep restoring the first one until they have moved to it, so both are stored
     *     meanwhile (a version is warmed once, by one node: {@code WarmSnapshot})
     */
    public static String snapshotId(Deployment d, long warmedAfter) {
        return warmedAfter > 0 ? warmedSnapshotId(d) : d.name() + "@v" + d.version();
    }

    /** @return the store id of the deployment's warmed snapshot (see {@link #snapshotId(Deployment, long)}) */
    public static String warmedSnapshotId(Deployment d) {
        return snapshotId(d, 0) + WARMED;
    }

    /** @return the store id of the deployment's current snapshot (see {@link #generation}) */
    public String snapshotId(Deployment d) {
        String first = snapshotId(d, 0);
        return current.getOrDefault(first, first);
    }

    /**
     * Which of the deployment's snapshots is current: the one taken after init ({@code warmedAfter}
     * 0) or the warmed one. Told whenever a snapshot is loaded, taken, adopted or replaced.
     */
    public void generation(Deployment d, long warmedAfter) {
        current.put(snapshotId(d, 0), snapshotId(d, warmedAfter));
    }

    public boolean hasStore() {
        return store.isPresent();
    }

    /** @return whether {@code e} comes from a file of the images that was there and is gone */
    private static boolean vanished(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.nio.file.NoSuchFileException) {
                return true;
            }
        }
        return false;
    }

    /**
     * Puts the images in the store in the background; {@code log} hears how it went.
     *
     * <p>The publish is held first until the node has been quiet for {@link ForegroundWork#QUIET_SPELL},
     * for {@link #PUBLISH_HELD_AT_MOST} at most. Storing and uploading an image takes both cores for
     * a while, and a node's first snapshot is taken just as its first invocations come; nothing on
     * this node restores from the store meanwhile, since its restores read the working copy. The
     * hold ends at once when something waits for a snapshot on its way: a caller of {@link
     * #awaitStored} here, or, as {@code awaited} says, another node of a cluster (which restores from
     * the stored copy, and waits for it rather than boot). Publishes run one at a time, so a hold ends
     * for whatever waits behind it too.
     *
     * @param awaited whether another node waits for this snapshot now (asked while the hold lasts)
     * @return completes with whether they were stored (false without a store, or when the put failed)
     */
    public CompletableFuture<Boolean> publish(Deployment d, Path imagesDir, FunctionLog log, BooleanSupplier awaited) {
        if (store.isEmpty()) {
            return CompletableFuture.completedFuture(false);
        }
        SnapshotStore s = store.get();
        String id = snapshotId(d);
        Publish p = new Publish(awaited);
        publishing.put(id, p);
        publisher.execute(() -> {
            try {
                boolean ok;
                try {
                    ok = store(s, d, id, imagesDir, log, p);
                } finally {
                    publishing.remove(id, p); // out of the report before a waiter hears how it ended
                }
                p.stored.complete(ok);
            } catch (Throwable t) {
                p.stored.completeExceptionally(t);
            }
        });
        return p.stored;
    }

    /**
     * A snapshot on its way into the store: where it is (what the snapshot report shows), whether
     * another node waits for it, and how it ends.
     */
    private static final class Publish {
        volatile String status = "queued";
        final BooleanSupplier awaited;
        final CompletableFuture<Boolean> stored = new CompletableFuture<>();

        Publish(BooleanSupplier awaited) {
            this.awaited = awaited;
        }
    }

    /** The body of {@link #publish}, on the publisher's thread. */
    private boolean store(SnapshotStore s, Deployment d, String id, Path imagesDir, FunctionLog log, Publish p) {
        p.status = "held until the node has been quiet for " + ForegroundWork.QUIET_SPELL.toMillis() + " ms, or until"
                + " something waits for it (at most " + PUBLISH_HELD_AT_MOST.toSeconds() + " s)";
        boolean[] awaitedElsewhere = new boolean[1];
        Duration waited = foreground.awaitQuiet(ForegroundWork.QUIET_SPELL, PUBLISH_HELD_AT_MOST,
                () -> closing || storeAwaited.get() > 0 || (awaitedElsewhere[0] = awaitedElsewhere()));
        p.status = "storing";
        long start = System.nanoTime();
        try {
            putBaseImage(s, d, id, imagesDir); // first: once the snapshot is stored, so is its base image
            var m = s.put(id, imagesDir);
            long chunks = m.files().stream().mapToLong(f -> f.chunks().size()).sum();
            log.append(String.format("SNAPSHOT stored in %d ms: %d files, %d chunks (upload to the remote tier "
                    + "continues in the background)%s", (System.nanoTime() - start) / 1_000_000, m.files().size(), chunks,
                    "; held " + waited.toMillis() + " ms first, "
                            + (awaitedElsewhere[0] ? "until another node waited for it" : "for a quiet node")));
            return true;
        } catch (RuntimeException e) { // StoreException, or an UncheckedIOException from reading the images
            if (!Files.isDirectory(imagesDir) || vanished(e)) {
                // deleted or redeployed meanwhile (its files go one by one, then the directory):
                // forget() deletes whatever part got stored, after this
                LOG.log(System.Logger.Level.DEBUG, d.name() + ": snapshot discarded before it was stored");
                return false;
            }
            log.append("SNAPSHOT_NOT_STORED " + e.getMessage() + " (the local copy still serves restores)");
            LOG.log(System.Logger.Level.WARNING, d.name() + ": snapshot not stored: " + e.getMessage());
            return false;
        }
    }

    /** @return whether another node waits for any snapshot queued for its publish (and behind a held one) */
    private boolean awaitedElsewhere() {
        for (Publish p : publishing.values()) {
            if (p.awaited.getAsBoolean()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Waits until the deployment's current snapshot is stored, if it is on its way: a publish held
     * for a quiet node goes ahead at once, and so does every one queued before it.
     *
     * @return whether it is stored now
     */
    public boolean awaitStored(Deployment d, Duration atMost) {
        if (isStored(d)) {
            return true;
        }
        Publish p = publishing.get(snapshotId(d));
        if (p == null) {
            return false;
        }
        storeAwaited.incrementAndGet();
        try {
            p.stored.get(atMost.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            // not stored: said below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            storeAwaited.decrementAndGet();
        }
        return isStored(d);
    }

    /** @return where the deployment's snapshot is on its way into the store, while it is */
    public Optional<String> publishing(Deployment d) {
        return Optional.ofNullable(publishing.get(snapshotId(d))).map(p -> p.status);
    }

    /** @return the store, when the node has one */
    public Optional<SnapshotStore> store() {
        return store;
    }

    /**
     * @return the local tiers ({@code memory}, {@code disk}) holding every chunk of the deployment's
     *     stored snapshot, and {@code memory} also when the working copy (tmpfs) is there; empty when
     *     neither
     */
    public Set<String> localTiers(Deployment d) {
        Set<String> tiers = new TreeSet<>();
        if (Files.isDirectory(hotDir(d).resolve("images"))) {
            tiers.add("memory");
        }
        store.ifPresent(s -> {
            try {
                tiers.addAll(s.localTiersHolding(snapshotId(d)));
            } catch (RuntimeException e) {
                // not stored (yet), or deleted meanwhile
            }
        });
        return tiers;
    }

    /** @return the store id of the deployment's current snapshot's {@link BaseImage} */
    public String baseImageId(Deployment d) {
        return baseImageId(snapshotId(d));
    }

    /** @return the store id of a snapshot's {@link BaseImage} */
    public static String baseImageId(String snapshotId) {
        return snapshotId + ".base";
    }

    /** Stores the snapshot's {@link BaseImage}, what lazy restores materialize, as one object. */
    private void putBaseImage(SnapshotStore s, Deployment d, String id, Path imagesDir) {
        Path dir = hotDir(d).resolve("base-staging-" + System.nanoTime());
        try {
            if (!Files.isDirectory(imagesDir)) {
                return; // deleted or redeployed meanwhile
            }
            Files.createDirectories(dir);
            BaseImage.write(imagesDir, dir.resolve(BaseImage.FILE));
            s.put(baseImageId(id), dir);
        } catch (IOException | RuntimeException e) {
            if (Files.isDirectory(imagesDir)) {
                // lazy restores then materialize the same files from the snapshot itself, only slower
                LOG.log(System.Logger.Level.WARNING, d.name() + ": base image not stored: " + e.getMessage());
            }
        } finally {
            FileTrees.deleteQuietly(dir);
        }
    }

    /**
     * Makes sure the working copy is there, materializing it from the store if need be.
     *
     * @return true when {@code imagesDir} holds the images
     */
    public boolean ensureLocal(Deployment d, Path imagesDir, RestoreReport report) throws IOException {
        if (Files.isDirectory(imagesDir)) {
            return true;
        }
        if (!isStored(d)) {
            return false;
        }
        Path staging = imagesDir.resolveSibling("images.materializing-" + Thread.currentThread().threadId());
        FileTrees.deleteQuietly(staging);
        report.source = "store";
        store.get().materialize(snapshotId(d), staging, report.tally);
        report.fetched();
        moveIntoPlace(staging, imagesDir);
        return true;
    }

    /** Renames a materialized image into place, unless a concurrent restore got there first. */
    private static void moveIntoPlace(Path staging, Path target) throws IOException {
        try {
            Files.move(staging, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // rename(2) onto a non-empty directory fails with ENOTEMPTY, which Java reports as a
            // plain FileSystemException: what matters is whether the target is now complete
            FileTrees.deleteQuietly(staging);
            if (!Files.isDirectory(target)) {
                throw e;
            }
        }
    }

    /** @return the directory of the image a lazy restore reads: the whole image but its lazy pages */
    public Path lazyImagesDir(Deployment d) {
        return hotDir(d).resolve("lazy-images");
    }

    /**
     * Makes sure the image of a lazy restore is there: every file but the page files whole, and of
     * the page files only the pages CRIU restores itself (stacks, vDSO data and other memory that is
     * not anonymous and private); the lazy pages stay in the store and come through the page source.
     *
     * @return true when {@code lazyDir} holds that image
     */
    public boolean ensureLazyImages(Deployment d, Path lazyDir, RestoreReport report) throws IOException {
        if (Files.isDirectory(lazyDir)) {
            return true;
        }
        if (!isStored(d)) {
            return false;
        }
        SnapshotStore s = store.get();
        String id = snapshotId(d);
        Path staging = lazyDir.resolveSibling("lazy-images.materializing-" + Thread.currentThread().threadId());
        FileTrees.deleteQuietly(staging);
        report.source = "store";
        if (unpackBaseImage(s, d, staging, report)) {
            report.fetched();
            moveIntoPlace(staging, lazyDir);
            return true;
        }
        Map<String, List<dev.thaw.store.ByteRange>> nothing = new TreeMap<>();
        s.manifest(id).files().stream().filter(f -> ImageIndex.isPagesFile(f.name())).forEach(f -> nothing.put(f.name(), List.of()));
        s.materialize(id, staging, nothing, report.tally);
        // all ranges at once: most are a chunk or two, and one after the other they would not overlap
        List<CompletableFuture<Void>> writes = ImageIndex.load(staging).nonLazyRanges().stream()
                .map(r -> CompletableFuture.runAsync(() -> writeRange(staging, r,
                        s.read(id, r.pagesFile(), r.offset(), Math.toIntExact(r.length()), report.tally)), rangeReaders))
                .toList();
        try {
            CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).join();
        } catch (java.util.concurrent.CompletionException e) {
            FileTrees.deleteQuietly(staging);
            if (e.getCause() instanceof UncheckedIOException io) {
                throw io.getCause();
            }
            throw e.getCause() instanceof RuntimeException re ? re : e;
        }
        report.fetched();
        moveIntoPlace(staging, lazyDir);
        return true;
    }

    /**
     * @return whether the snapshot's base image was stored and is now unpacked into {@code dir};
     *     false when it was not stored (by an older node, or storing it failed) or cannot be read,
     *     and the caller materializes the same files from the snapshot itself
     */
    private boolean unpackBaseImage(SnapshotStore s, Deployment d, Path dir, RestoreReport report) {
        try {
            long size = s.manifest(baseImageId(d)).file(BaseImage.FILE).orElseThrow().size();
            BaseImage.unpack(s.read(baseImageId(d), BaseImage.FILE, 0, Math.toIntExact(size), report.tally), dir);
            return true;
        } catch (dev.thaw.store.StoreException.NotFound | java.util.NoSuchElementException e) {
            return false;
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, d.name() + ": base image unusable, materializing from the snapshot: "
                    + e.getMessage());
            FileTrees.deleteQuietly(dir);
            return false;
        }
    }

    /** Writes one range of pages CRIU installs itself into the materialized image. */
    private static void writeRange(Path imagesDir, ImageIndex.ByteRange r, byte[] bytes) {
        try (FileChannel ch = FileChannel.open(imagesDir.resolve(r.pagesFile()), StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf, r.offset() + buf.position());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * @param sequential whether the reader goes through the pages in file order (streams the whole
     *     image), so that fetching ahead pays
     * @return a page source reading the deployment's stored snapshot, counting bytes per tier in {@code tally}
     */
    public StorePageSource pageSource(Deployment d, dev.thaw.store.FetchTally tally, boolean sequential) {
        return new StorePageSource(store.orElseThrow(), snapshotId(d), tally, sequential ? STREAM_READ_AHEAD_BYTES : 0,
                StorePageSource.KEPT_BYTES, readAhead, chunkBuffers);
    }

    // ---- REAP working sets -----------------------------------------------------------------------

    String workingSetId(Deployment d) {
        return workingSetId(snapshotId(d));
    }

    private static String workingSetId(String snapshotId) {
        return snapshotId + ".ws";
    }

    /** @return the working set recorded for the deployment's snapshot, if one was */
    /** The lazy, REAP and streamed restores of live instances: a LazyRestore adds itself when prepared and leaves when its instance exits. */
    Set<LazyRestore> liveRestores() {
        return liveRestores;
    }

    /**
     * @return per function with live instances restored lazily, by REAP or streamed, the bytes their
     *     restores hold to serve pages: prefetched working sets and decrypted chunks, 0 once every
     *     page is installed ({@code thaw_restore_held_bytes})
     */
    public Map<String, Long> restoreHeldBytes() {
        Map<String, Long> held = new TreeMap<>();
        for (LazyRestore r : liveRestores) {
            held.merge(r.functionName(), r.heldBytes(), Long::sum);
        }
        return held;
    }

    Optional<WorkingSet> workingSet(Deployment d) {
        WorkingSet known = workingSets.get(snapshotId(d));
        if (known != null || store.isEmpty()) {
            return Optional.ofNullable(known);
        }
        try {
            SnapshotStore s = store.get();
            var runs = s.manifest(workingSetId(d)).file(WS_RUNS).orElseThrow();
            WorkingSet ws = WorkingSet.decode(s.read(workingSetId(d), WS_RUNS, 0, (int) runs.size()));
            storedWorkingSets.add(snapshotId(d));
            workingSets.put(snapshotId(d), ws);
            return Optional.of(ws);
        } catch (dev.thaw.store.StoreException.NotFound e) {
            return Optional.empty();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, d.name() + ": stored working set unusable, recording again: " + e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * A working set is always read whole and front to back, so it is cut into chunks of at least 4 MiB
     * whatever the snapshot's chunk size: from the S3 tier each request costs about a millisecond of
     * CPU on both ends before its first byte, and a 45 MB set in 512 KiB chunks is ~90 requests.
     * Measured on 45 MB read into a segment (docs/BENCHMARKS.md): 512 KiB / 2 MiB / 4 MiB chunks
     * took 243 / 121 / 93 ms from S3 and 47 / 33 / 24 ms from memory. The first chunk still arrives
     * early enough for the rest to be installed while it is fetched.
     */
    private int workingSetChunkSize(String snapshotId) {
        return Math.max(WORKING_SET_CHUNK_BYTES, store.orElseThrow().manifest(snapshotId).chunkSize());
    }

    /** @return whether the deployment's working set is in the store (else it is known to this node only) */
    boolean isWorkingSetStored(Deployment d) {
        return store.isPresent() && storedWorkingSets.contains(snapshotId(d));
    }

    /**
     * Reads the stored working set's pages, in working-set order, into the arrival's segment, telling
     * it as they arrive (one sequential read, chunks fetched in parallel).
     *
     * @return the filled segment
     */
    MemorySegment readStoredWorkingSet(Deployment d, dev.thaw.lazy.LazyPages.Arrival into, dev.thaw.store.FetchTally tally) {
        store.orElseThrow().readInto(workingSetId(d), WS_PAGES, 0, into.segment(), tally, into::arrived);
        return into.segment();
    }

    /** @return whether the deployment's working set may be extended once more (at most {@code max} times); counts it if so */
    boolean claimWorkingSetExtension(Deployment d, int max) {
        java.util.concurrent.atomic.AtomicInteger n =
                workingSetExtensions.computeIfAbsent(snapshotId(d), id -> new java.util.concurrent.atomic.AtomicInteger());
        return n.getAndUpdate(v -> v < max ? v + 1 : v) < max;
    }

    /**
     * Keeps a recorded working set: its runs and its pages, in address order
     * ({@link WorkingSet#inAddressOrder()}), as one stored object next to the snapshot, written in
     * the background. Later restores use it once it is stored.
     */
    java.util.concurrent.CompletableFuture<Void> saveWorkingSet(Deployment d, WorkingSet recorded, ImageIndex index,
                                                                PageSource source, FunctionLog log, String what) {
        String id = snapshotId(d); // the snapshot it was recorded on, whatever replaces it meanwhile
        return java.util.concurrent.CompletableFuture.runAsync(() -> {
            WorkingSet ws = recorded.inAddressOrder();
            Path dir = hotDir(d).resolve("ws-staging-" + System.nanoTime());
            try (Arena arena = Arena.ofConfined()) {
                if (store.isPresent()) {
                    MemorySegment pages = index.read(ws, source, arena);
                    Files.createDirectories(dir);
                    Files.write(dir.resolve(WS_RUNS), ws.encode());
                    try (FileChannel ch = FileChannel.open(dir.resolve(WS_PAGES), StandardOpenOption.CREATE_NEW,
                            StandardOpenOption.WRITE)) {
                        ByteBuffer buf = pages.asByteBuffer();
                        while (buf.hasRemaining()) {
                            ch.write(buf);
                        }
                    }
                    store.get().put(workingSetId(id), dir, workingSetChunkSize(id));
                    storedWorkingSets.add(id);
                }
                workingSets.put(id, ws);
                log.append(String.format(java.util.Locale.ROOT, "WORKING_SET %s: %d pages (%.1f MB) in %d runs", what,
                        ws.pages(), ws.bytes() / 1048576.0, ws.runs().size()));
            } catch (IOException | RuntimeException e) {
                if (!Files.isDirectory(hotDir(d))) {
                    LOG.log(System.Logger.Level.DEBUG, d.name() + ": working set discarded with its snapshot");
                    return;
                }
                log.append("WORKING_SET_NOT_STORED " + e.getMessage() + " (restores stay lazy until one is recorded)");
                LOG.log(System.Logger.Level.WARNING, d.name() + ": working set not stored: " + e.getMessage());
            } finally {
                FileTrees.deleteQuietly(dir);
            }
        }, publisher);
    }

    /**
     * @return true when the store holds this deployment's snapshot. Asked on every restore, so it
     *     looks the one manifest up (cached in memory, else on disk, else one S3 read) instead of
     *     listing every manifest of the store, which costs an S3 listing each time.
     */
    public boolean isStored(Deployment d) {
        if (store.isEmpty()) {
            return false;
        }
        try {
            store.get().manifest(snapshotId(d));
            return true;
        } catch (dev.thaw.store.StoreException.NotFound | dev.thaw.store.StoreException.Unavailable e) {
            return false; // not stored, or only in an S3 tier that cannot be reached now
        }
    }

    private boolean isBaseImageStored(Deployment d) {
        try {
            store.orElseThrow().manifest(baseImageId(d));
            return true;
        } catch (dev.thaw.store.StoreException.NotFound | dev.thaw.store.StoreException.Unavailable e) {
            return false;
        }
    }

    /** Forgets a deployment's snapshot: the working copy at once, the stored copy in the background. */
    public void forget(Deployment d) {
        FileTrees.deleteQuietly(hotDir(d));
        forgetDerived(d, snapshotId(d, 0));
        forgetDerived(d, warmedSnapshotId(d));
        current.remove(snapshotId(d, 0));
    }

    /**
     * A deployment's snapshot was replaced by a warmed one, which is current from now on: in its
     * working copy here ({@link Snapshot#replace}), or on another node of the cluster ({@link
     * Snapshot#follow}). The image lazy restores materialized from the old one goes at once, with what
     * was derived from it. Its stored copy goes too, in the background ahead of the new one's {@link
     * #publish} (which the same single thread runs after), when {@code deleteStoredCopy}: on a single
     * node nothing else restores it, while in a cluster other nodes do until they have moved on, so
     * there it goes with the version. A REAP working set recorded on the old images belongs to the
     * old id; the warmed snapshot records its own.
     */
    public void replaced(Deployment d, long warmedAfter, boolean deleteStoredCopy) {
        String old = snapshotId(d);
        FileTrees.deleteQuietly(lazyImagesDir(d));
        generation(d, warmedAfter);
        forgetDerivedState(old);
        if (deleteStoredCopy) {
            deleteStored(d, old);
        }
    }

    private void forgetDerived(Deployment d, String id) {
        forgetDerivedState(id);
        deleteStored(d, id);
    }

    private void forgetDerivedState(String id) {
        workingSets.remove(id);
        storedWorkingSets.remove(id);
        workingSetExtensions.remove(id);
    }

    private void deleteStored(Deployment d, String id) {
        store.ifPresent(s -> publisher.execute(() -> {
            try {
                s.delete(workingSetId(id));
                s.delete(baseImageId(id));
                s.delete(id);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, d.name() + ": stored snapshot not deleted: " + e.getMessage());
            }
        }));
    }

    public Optional<SnapshotStats> stats(Deployment d) {
        return isStored(d) ? Optional.of(store.get().stats(snapshotId(d))) : Optional.empty();
    }

    /** @return the store's figures for the deployment's REAP working set, if one is stored */
    public Optional<SnapshotStats> workingSetStats(Deployment d) {
        return isWorkingSetStored(d) ? Optional.of(store.get().stats(workingSetId(d))) : Optional.empty();
    }

    public List<TierStats> tierStats() {
        return store.map(SnapshotStore::tierStats).orElse(List.of());
    }

    /**
     * Drops a snapshot's copies from the fast places, as a node would once they went cold: the
     * working copy on tmpfs ({@code working}) and the store's local tiers ({@code memory},
     * {@code disk}). The next restore then materializes it from the fastest tier left. A snapshot
     * still on its way into the store is waited for (its publish no longer held for a quiet node).
     *
     * @return bytes dropped per place
     */
    public Map<String, Long> evict(Deployment d, Path imagesDir, Set<String> places) {
        Set<String> unknown = new TreeSet<>(places);
        unknown.removeAll(Set.of("working", "memory", "disk"));
        if (!unknown.isEmpty() || places.isEmpty()) {
            throw ThawException.invalidRequest("cannot evict snapshot of '%s' from %s: name one or more of working, memory, disk",
                    d.name(), places.isEmpty() ? "nowhere" : unknown);
        }
        if (!awaitStored(d, EVICT_AWAITS_STORE)) {
            throw new ThawException(dev.thaw.core.ErrorType.InvalidRequest, "the snapshot of '" + d.name()
                    + "' is not in the snapshot store" + (store.isEmpty() ? " (the node runs without one)"
                    : publishing.containsKey(snapshotId(d)) ? " yet (still storing after " + EVICT_AWAITS_STORE.toSeconds() + " s)"
                    : " (a SNAPSHOT_NOT_STORED line in its log says why)")
                    + ", so its working copy is its only copy and stays", null);
        }
        settle();
        Map<String, Long> dropped = new TreeMap<>();
        if (places.contains("working")) {
            dropped.put("working", FunctionStore.sizeOf(imagesDir) + FunctionStore.sizeOf(lazyImagesDir(d)));
            FileTrees.deleteQuietly(imagesDir);
            FileTrees.deleteQuietly(lazyImagesDir(d));
        }
        Set<String> tiers = new TreeSet<>(places);
        tiers.remove("working");
        if (!tiers.isEmpty()) {
            dropped.putAll(store.orElseThrow().evict(snapshotId(d), tiers));
            if (isBaseImageStored(d)) {
                awaitDurable(baseImageId(d), tiers);
                store.get().evict(baseImageId(d), tiers).forEach((k, v) -> dropped.merge(k, v, Long::sum));
            }
            if (storedWorkingSets.contains(snapshotId(d))) {
                awaitDurable(workingSetId(d), tiers);
                store.get().evict(workingSetId(d), tiers).forEach((k, v) -> dropped.merge(k, v, Long::sum));
            }
        }
        return dropped;
    }

    /**
     * Lets the store finish filling its disk tier from earlier reads, so that an eviction (or a
     * load) leaves the tiers in the state asked for and the next restore does not compete with them.
     */
    public void settle() {
        store.ifPresent(s -> {
            try {
                s.awaitBackgroundFills(java.time.Duration.ofSeconds(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    /** A working set is stored moments after the invocation that recorded it: give its upload a little time. */
    private void awaitDurable(String id, Set<String> tiers) {
        if (!tiers.contains("disk")) {
            return;
        }
        try {
            store.get().awaitDurable(id, java.time.Duration.ofSeconds(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** @return how much the stored snapshots of two deployments share */
    public dev.thaw.store.DedupStats compare(Deployment a, Deployment b) {
        for (Deployment d : List.of(a, b)) {
            if (!isStored(d)) {
                throw new ThawException(dev.thaw.core.ErrorType.InvalidRequest, "function '" + d.name()
                        + "' has no snapshot in the snapshot store (yet)", null);
            }
        }
        return store.orElseThrow().compare(snapshotId(a), snapshotId(b));
    }

    public Optional<GcResult> gc() {
        return store.map(SnapshotStore::gc);
    }

    @Override
    public void close() {
        closing = true;
        readAhead.shutdownNow();
        rangeReaders.shutdownNow();
        publisher.shutdown();
        try {
            publisher.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        store.ifPresent(SnapshotStore::close);
        FileTrees.deleteQuietly(hotRoot);
    }
}
