package dev.thaw.store;

import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/*
 * The store, assembled: tiers (memory -> disk -> S3, each metered), write leases, the writer, the
 * reader, the uploader and the collector. This class owns manifests: where they are read from
 * (disk, else S3, then cached on disk), how a corrupted local copy is healed from S3, and what
 * opening a store resumes (every local manifest not yet in S3 is queued for upload again).
 *
 * Manifests are never evicted from disk; chunks are, once durable. Decrypted manifests are cached
 * in memory by object name (they are small) and dropped on delete.
 */
/** The {@link SnapshotStore} implementation. */
final class DefaultSnapshotStore implements SnapshotStore {
    private static final System.Logger LOG = System.getLogger(DefaultSnapshotStore.class.getName());
    /** Size of the throw-away chunks of the crypto warm-up ({@link #warmUpCrypto}). */
    private static final int WARM_UP_CHUNK = 16 * 1024;
    /** A 16 KiB chunk opened in under this long ran at about 1.4 GB/s or more: compiled. */
    private static final long WARM_OPEN_NANOS = 12_000;

    private final StoreConfig config;
    private final EmbeddedS3 embedded;
    private final StoreKeys keys;
    private final ManifestCodec manifests;
    private final Pins pins = new Pins();
    private final MeteredTier memory;
    private final MeteredTier disk;
    private final MeteredTier s3;
    private final List<MeteredTier> tiers;
    private final ExecutorService ioPool;
    private final ExecutorService writePool;
    private final ExecutorService uploadPool;
    /** Runs the S3 read warm-up ({@link ReadWarmUp}): its own threads, so restores never queue behind it. */
    private final ExecutorService warmUpPool;
    /** Fills the disk tier with chunks read from S3, off the read path. */
    private final FillPool fillPool;
    private final SnapshotWriter writer;
    private final SnapshotReader reader;
    private final Uploader uploader;
    private final GarbageCollector collector;
    private final Map<String, SnapshotManifest> manifestCache = new ConcurrentHashMap<>();
    private volatile boolean closed;

    private DefaultSnapshotStore(StoreConfig config, EmbeddedS3 embedded, S3Config s3Config) {
        this.config = config;
        this.embedded = embedded;
        this.keys = new StoreKeys(config.secret());
        ChunkCodec codec = new ChunkCodec(keys);
        this.manifests = new ManifestCodec(keys);
        this.memory = config.memoryBytes() > 0 ? new MeteredTier(new MemoryTier(config.memoryBytes())) : null;
        this.disk = new MeteredTier(new DiskTier(config.root().resolve("disk"), config.diskBytes(), evictionGuard()));
        this.s3 = new MeteredTier(new S3Tier(s3Config, config.s3CallTimeout()));
        List<MeteredTier> all = new ArrayList<>();
        if (memory != null) {
            all.add(memory);
        }
        all.add(disk);
        all.add(s3);
        this.tiers = List.copyOf(all);
        this.ioPool = Executors.newFixedThreadPool(config.fetchThreads(), daemonThreads("thaw-store-io-"));
        this.uploadPool = Executors.newFixedThreadPool(config.uploadThreads(), Background.threads(daemonThreads("thaw-store-put-")));
        // one thread drives the warm-up and waits while two fetch: a restore keeps a core
        this.warmUpPool = Executors.newFixedThreadPool(3, Background.threads(daemonThreads("thaw-store-warm-up-")));
        int window = 2 * config.fetchThreads();
        // puts are background work (a node publishes its snapshots while it serves): idle, and apart
        // from the fetches of restores, which would otherwise queue behind a put's chunks
        this.writePool = Executors.newFixedThreadPool(config.fetchThreads(), Background.threads(daemonThreads("thaw-store-write-")));
        this.writer = new SnapshotWriter(keys, codec, disk, memory, writePool, window, !config.encryption());
        this.fillPool = new FillPool(Background.threads(daemonThreads("thaw-store-fill-")));
        this.reader = new SnapshotReader(new ChunkReader(tiers, keys, codec, fillPool, config.busy(), config.fillWait()), ioPool, window);
        this.uploader = new Uploader(s3, tiers.subList(0, tiers.size() - 1), keys, codec, uploadPool,
                config.backoffMin(), config.backoffMax());
        this.collector = new GarbageCollector(tiers, pins, keys, this::allManifests, config.gcGrace());
    }

    static SnapshotStore open(StoreConfig config) {
        EmbeddedS3 embedded = config.s3() == null ? EmbeddedS3.start(config.root().resolve("s3")) : null;
        S3Config s3Config = embedded == null ? config.s3() : embedded.config(config.embeddedBucket());
        DefaultSnapshotStore store;
        try {
            store = new DefaultSnapshotStore(config, embedded, s3Config);
        } catch (RuntimeException e) {
            if (embedded != null) {
                embedded.close();
            }
            throw e;
        }
        store.resumeUploads();
        store.uploader.start();
        store.ioPool.execute(store::warmUpCrypto);
        if (config.warmUpReads() && embedded != null) {
            // chunks of the store's size, but never more than 1 MiB each: it is the code that needs warming
            int chunk = Math.min(config.chunkSize(), 1 << 20);
            store.warmUpPool.execute(new ReadWarmUp(store.s3.unwrap(), chunk, store.warmUpPool, ReadWarmUp.MAX_GETS,
                    config.quiet() == null ? () -> true : config.quiet(), () -> store.closed));
        }
        return store;
    }

    @Override
    public SnapshotManifest put(String snapshotId, Path imagesDir) {
        return put(snapshotId, imagesDir, config.chunkSize());
    }

    @Override
    public SnapshotManifest put(String snapshotId, Path imagesDir, int chunkSize) {
        checkOpen();
        Names.checkSnapshotId(snapshotId);
        if (!StoreConfig.validChunkSize(chunkSize)) {
            throw new StoreException.InvalidArgument("cannot store snapshot '" + snapshotId
                    + "': " + StoreConfig.chunkSizeRule(chunkSize));
        }
        List<Path> files = SnapshotWriter.imageFiles(snapshotId, imagesDir);
        Pins.Lease lease = pins.open();
        try {
            List<ImageFile> images = new ArrayList<>();
            for (Path f : files) {
                images.add(writer.write(snapshotId, f, chunkSize, lease));
            }
            SnapshotManifest m = new SnapshotManifest(SnapshotManifest.FORMAT, snapshotId, System.currentTimeMillis(),
                    chunkSize, !config.encryption(), images);
            String key = keys.manifestObject(snapshotId);
            byte[] sealed = manifests.seal(m, key);
            disk.put(key, sealed);
            manifestCache.put(key, m);
            uploader.submit(m, sealed, lease);
            return m;
        } catch (RuntimeException e) {
            lease.release();
            throw e;
        }
    }

    @Override
    public void materialize(String snapshotId, Path targetDir, Map<String, List<ByteRange>> partial, FetchTally tally) {
        checkOpen();
        reader.materialize(manifest(snapshotId), targetDir, partial, tally);
    }

    @Override
    public byte[] read(String snapshotId, String fileName, long offset, int length, FetchTally tally) {
        checkOpen();
        return reader.read(manifest(snapshotId), fileName, offset, length, tally);
    }

    @Override
    public void readInto(String snapshotId, String fileName, long offset, java.lang.foreign.MemorySegment dest,
                         FetchTally tally, java.util.function.LongConsumer arrived) {
        checkOpen();
        reader.readInto(manifest(snapshotId), fileName, offset, dest, tally, arrived);
    }

    @Override
    public SnapshotManifest manifest(String snapshotId) {
        checkOpen();
        Names.checkSnapshotId(snapshotId);
        String key = keys.manifestObject(snapshotId);
        SnapshotManifest cached = manifestCache.get(key);
        return cached != null ? cached : loadManifest(key, snapshotId);
    }

    @Override
    public boolean delete(String snapshotId) {
        checkOpen();
        Names.checkSnapshotId(snapshotId);
        String key = keys.manifestObject(snapshotId);
        boolean wasDurable = uploader.forget(snapshotId);
        boolean existed = disk.exists(key) || wasDurable;
        manifestCache.remove(key);
        disk.delete(key);
        try {
            existed |= s3.exists(key);
            s3.delete(key);
        } catch (StoreException.Unavailable e) {
            if (wasDurable) {
                throw new StoreException.Unavailable("snapshot '" + snapshotId + "' was deleted locally but its copy in S3"
                        + " could not be deleted; delete it again once S3 is reachable: " + e.getMessage(), e);
            }
        }
        return existed;
    }

    @Override
    public ScratchObjects scratch(String namespace) {
        checkOpen();
        if (namespace == null || !namespace.matches("[a-z0-9-]{1,32}") || namespace.equals("c") || namespace.equals("m")) {
            throw new StoreException.InvalidArgument("invalid scratch namespace '" + namespace
                    + "': use 1-32 lower-case letters, digits or - (not c or m, the store's own)");
        }
        S3Tier tier = (S3Tier) s3.unwrap();
        String prefix = namespace + "/";
        return new ScratchObjects() {
            @Override
            public void put(String key, java.util.function.Supplier<java.io.InputStream> data, long length) {
                tier.put(prefix + key, data, length);
            }

            @Override
            public java.util.Optional<java.io.InputStream> open(String key) {
                return java.util.Optional.ofNullable(tier.open(prefix + key));
            }

            @Override
            public void delete(String key) {
                tier.delete(prefix + key);
            }

            @Override
            public List<ScratchObjects.Info> list(String keyPrefix) {
                return tier.listAll(prefix + keyPrefix).stream()
                        .map(i -> new ScratchObjects.Info(i.key().substring(prefix.length()), i.size(), i.lastModified()))
                        .toList();
            }
        };
    }

    @Override
    public List<String> list() {
        checkOpen();
        return new ArrayList<>(new TreeSet<>(allManifests(false).stream().map(SnapshotManifest::snapshotId).toList()));
    }

    @Override
    public boolean isDurable(String snapshotId) {
        return uploader.isDurable(snapshotId);
    }

    @Override
    public boolean awaitDurable(String snapshotId, Duration timeout) throws InterruptedException {
        return uploader.awaitDurable(snapshotId, timeout);
    }

    @Override
    public SnapshotStats stats(String snapshotId) {
        SnapshotManifest m = manifest(snapshotId);
        Map<String, Integer> distinct = distinctChunks(m);
        int chunks = m.files().stream().mapToInt(f -> f.chunks().size()).sum();
        int zero = (int) m.files().stream().flatMap(f -> f.chunks().stream()).filter(ChunkRef::zero).count();
        Set<String> elsewhere = chunksOfOthers(snapshotId);
        long stored = sum(distinct);
        long shared = distinct.entrySet().stream().filter(e -> elsewhere.contains(e.getKey()))
                .mapToLong(e -> e.getValue().longValue()).sum();
        return new SnapshotStats(snapshotId, m.files().size(), m.totalBytes(), m.chunkSize(), chunks, zero, distinct.size(), stored,
                stored - shared, shared, tiersHolding(snapshotId, distinct.keySet()), isDurable(snapshotId));
    }

    @Override
    public List<String> localTiersHolding(String snapshotId) {
        checkOpen();
        Set<String> chunks = distinctChunks(manifest(snapshotId)).keySet();
        List<String> out = new ArrayList<>();
        for (MeteredTier t : tiers) {
            if (t.local() && chunks.stream().allMatch(t.unwrap()::exists)) {
                out.add(t.name());
            }
        }
        return out;
    }

    @Override
    public Map<String, Long> evict(String snapshotId, Set<String> tierNames) {
        checkOpen();
        SnapshotManifest m = manifest(snapshotId);
        List<MeteredTier> chosen = new ArrayList<>();
        for (String name : new TreeSet<>(tierNames)) {
            MeteredTier tier = tiers.stream().filter(t -> t.local() && t.name().equals(name)).findFirst()
                    .orElseThrow(() -> new StoreException.InvalidArgument("cannot evict snapshot '"
                            + snapshotId + "' from tier '" + name + "': the local tiers are "
                            + tiers.stream().filter(MeteredTier::local).map(MeteredTier::name).toList()));
            if (tier == disk && !isDurable(snapshotId)) {
                throw new StoreException.InvalidArgument("cannot evict snapshot '" + snapshotId
                        + "' from the disk tier: it is not durable yet (its upload to S3 has not finished), so the disk"
                        + " holds its only copy");
            }
            chosen.add(tier);
        }
        Map<String, Integer> distinct = distinctChunks(m);
        Map<String, Long> dropped = new java.util.TreeMap<>();
        for (MeteredTier tier : chosen) {
            long bytes = 0;
            for (Map.Entry<String, Integer> c : distinct.entrySet()) {
                if (tier.exists(c.getKey())) {
                    tier.delete(c.getKey());
                    bytes += c.getValue();
                }
            }
            dropped.put(tier.name(), bytes);
        }
        return dropped;
    }

    @Override
    public DedupStats compare(String snapshotId, String otherSnapshotId) {
        checkOpen();
        Map<String, Integer> one = distinctChunks(manifest(snapshotId));
        Map<String, Integer> other = distinctChunks(manifest(otherSnapshotId));
        long shared = one.entrySet().stream().filter(e -> other.containsKey(e.getKey()))
                .mapToLong(e -> e.getValue().longValue()).sum();
        return new DedupStats(snapshotId, otherSnapshotId, sum(one), sum(other), shared);
    }

    private Map<String, Integer> distinctChunks(SnapshotManifest m) {
        Map<String, Integer> distinct = new HashMap<>();
        m.files().forEach(f -> f.chunks().stream().filter(c -> !c.zero())
                .forEach(c -> distinct.putIfAbsent(keys.chunkObject(m, c), c.length())));
        return distinct;
    }

    private static long sum(Map<String, Integer> chunks) {
        return chunks.values().stream().mapToLong(Integer::longValue).sum();
    }

    @Override
    public List<TierStats> tierStats() {
        return tiers.stream().map(MeteredTier::stats).toList();
    }

    @Override
    public GcResult gc() {
        checkOpen();
        return collector.collect();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        uploader.close();
        ioPool.shutdownNow();
        writePool.shutdownNow();
        uploadPool.shutdownNow();
        warmUpPool.shutdownNow();
        fillPool.shutdown();
        try {
            fillPool.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS); // fills in flight finish whole
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        tiers.forEach(MeteredTier::close);
        if (embedded != null) {
            embedded.close();
        }
    }

    /** The tiers, fastest first (tests inspect and damage them). */
    List<MeteredTier> tiers() {
        return tiers;
    }

    StoreKeys keys() {
        return keys;
    }

    /** The disk tier's background filler (tests hold it up to see what queues behind it). */
    java.util.concurrent.Executor filler() {
        return fillPool;
    }

    /** Waits until background fills of the disk tier are done (tests look at the disk right after a read). */
    void awaitFills() throws InterruptedException {
        awaitBackgroundFills(Duration.ofMinutes(1));
    }

    @Override
    public boolean awaitBackgroundFills(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (fillPool.unfinished.get() > 0) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(5);
        }
        return true;
    }

    /** Forgets decrypted manifests, as a freshly opened store would not have them. */
    void dropManifestCache() {
        manifestCache.clear();
    }

    private Set<String> chunksOfOthers(String snapshotId) {
        Set<String> out = new HashSet<>();
        for (SnapshotManifest other : allManifests(false)) {
            if (!other.snapshotId().equals(snapshotId)) {
                other.files().forEach(f -> f.chunks().stream().filter(c -> !c.zero())
                        .forEach(c -> out.add(keys.chunkObject(other, c))));
            }
        }
        return out;
    }

    private List<String> tiersHolding(String snapshotId, Set<String> names) {
        List<String> out = new ArrayList<>();
        for (MeteredTier t : tiers) {
            boolean holds = t.local() ? names.stream().allMatch(t.unwrap()::exists) : isDurable(snapshotId);
            if (holds) {
                out.add(t.name());
            }
        }
        return out;
    }

    private List<SnapshotManifest> allManifests() {
        return allManifests(true);
    }

    /** @param strict whether an unreachable S3 tier is an error (gc) or means local manifests only (listing) */
    private List<SnapshotManifest> allManifests(boolean strict) {
        Set<String> names = new TreeSet<>();
        disk.list("m/").forEach(i -> names.add(i.key()));
        try {
            s3.list("m/").forEach(i -> names.add(i.key()));
        } catch (StoreException.Unavailable e) {
            if (strict) {
                throw new StoreException.Unavailable("cannot collect garbage: the S3 tier cannot be listed, so manifests"
                        + " stored only there are unknown: " + e.getMessage(), e);
            }
        }
        List<SnapshotManifest> out = new ArrayList<>();
        for (String key : names) {
            SnapshotManifest cached = manifestCache.get(key);
            try {
                out.add(cached != null ? cached : loadManifest(key, null));
            } catch (StoreException.NotFound e) {
                // deleted between the listing and this read: it is no longer a snapshot of the store
            }
        }
        return out;
    }

    private SnapshotManifest loadManifest(String key, String snapshotId) {
        String what = snapshotId == null ? "manifest object " + key : "the manifest of snapshot '" + snapshotId + "'";
        byte[] local = disk.get(key);
        if (local != null) {
            try {
                return cache(key, manifests.open(local, key, snapshotId));
            } catch (IntegrityFailure f) {
                disk.failedVerification();
                LOG.log(Level.WARNING, "integrity failure: {0} in tier disk: {1}; discarded, fetching it from S3", what,
                        f.getMessage());
                disk.discard(key);
            }
        }
        byte[] remote;
        try {
            remote = s3.get(key);
        } catch (StoreException.Unavailable e) {
            throw new StoreException.Unavailable(what + " is not stored locally and the S3 tier is unreachable: "
                    + e.getMessage(), e);
        }
        if (remote == null) {
            if (local != null) {
                throw new StoreException.Corrupted(what + " is corrupted on disk and absent from S3", null);
            }
            throw new StoreException.NotFound("no snapshot '" + snapshotId + "' in the store");
        }
        try {
            SnapshotManifest m = manifests.open(remote, key, snapshotId);
            disk.put(key, remote);
            uploader.markDurable(m.snapshotId()); // read from S3: another node's upload, durable already
            return cache(key, m);
        } catch (IntegrityFailure f) {
            s3.failedVerification();
            LOG.log(Level.ERROR, "integrity failure: {0} in tier s3: {1}; not returned", what, f.getMessage());
            throw new StoreException.Corrupted(what + " in tier s3 cannot be opened: " + f.getMessage(), null);
        }
    }

    private SnapshotManifest cache(String key, SnapshotManifest m) {
        manifestCache.put(key, m);
        return m;
    }

    /**
     * Opens throw-away chunks in the background until the JIT has compiled the AES-GCM path: a cold
     * JVM decrypts at 60-400 MB/s for its first half gigabyte of chunks (interpreted, then C1), a
     * compiled one at 2.5-5 GB/s with the AES and carry-less multiply intrinsics, and the first
     * restores of a fresh node must not pay for that. Compilation is triggered by call counts, so
     * many small chunks warm it up where a few large ones would take seconds; but the JDK takes its
     * intrinsic path only for inputs of several KiB, which 16 KiB chunks reach (4 KiB pages did not:
     * measured, 3000 of them still left the first 32 MB of 512 KiB chunks at 390 MB/s). It stops
     * once calls have run at compiled speed for a while: about 1 s of one core, measured.
     */
    private void warmUpCrypto() {
        byte[] data = new byte[WARM_UP_CHUNK];
        new java.util.SplittableRandom(1).nextBytes(data);
        ChunkCodec codec = new ChunkCodec(new StoreKeys(new byte[32]));
        String name = "c/warm-up";
        long deadline = System.nanoTime() + 5_000_000_000L;
        byte[] hash = null;
        byte[] sealed = null;
        int fastInARow = 0;
        try {
            for (int i = 0; i < 20_000 && fastInARow < 500 && !closed && System.nanoTime() < deadline; i++) {
                if (i % 16 == 0) { // the sealing side (snapshots being stored) warms up too, less urgently
                    data[0] = (byte) i;
                    hash = ChunkCodec.sha256(data, 0, data.length);
                    sealed = codec.seal(hash, name, data, 0, data.length, false);
                }
                long start = System.nanoTime();
                codec.open(hash, name, sealed, data.length, false);
                fastInARow = System.nanoTime() - start < WARM_OPEN_NANOS ? fastInARow + 1 : 0;
            }
        } catch (IntegrityFailure | RuntimeException e) {
            LOG.log(Level.DEBUG, "crypto warm-up stopped: {0}", e.getMessage());
        }
    }

    private void resumeUploads() {
        int resumed = 0;
        for (ObjectTier.ObjectInfo info : disk.list("m/")) {
            byte[] sealed = disk.get(info.key());
            SnapshotManifest m;
            try {
                m = manifests.open(sealed, info.key(), null);
            } catch (IntegrityFailure | RuntimeException e) {
                if (e instanceof IntegrityFailure) {
                    disk.failedVerification();
                }
                LOG.log(Level.WARNING, "manifest {0} on disk cannot be opened ({1}); not resumed", info.key(), e.getMessage());
                continue;
            }
            manifestCache.put(info.key(), m);
            if (inS3(info.key())) {
                uploader.markDurable(m.snapshotId());
            } else {
                uploader.submit(m, sealed, pinAll(m));
                resumed++;
            }
        }
        if (resumed > 0) {
            LOG.log(Level.INFO, "resuming the upload of {0} snapshot(s)", resumed);
        }
    }

    private boolean inS3(String key) {
        try {
            return s3.exists(key);
        } catch (StoreException.Unavailable e) {
            return false;
        }
    }

    private Pins.Lease pinAll(SnapshotManifest m) {
        Pins.Lease lease = pins.open();
        m.files().forEach(f -> f.chunks().stream().filter(c -> !c.zero())
                .forEach(c -> lease.pin(keys.chunkObject(m, c))));
        return lease;
    }

    /** Chunks may leave the disk unless a write or an upload pins them; manifests never do. */
    private DiskTier.EvictionGuard evictionGuard() {
        return new DiskTier.EvictionGuard() {
            @Override
            public boolean candidate(String key) {
                return key.startsWith("c/") && !pins.pinned(key);
            }

            @Override
            public boolean evictIfAllowed(String key, Runnable evict) {
                return pins.underLock(key, () -> {
                    if (pins.pinned(key)) {
                        return false;
                    }
                    evict.run();
                    return true;
                });
            }
        };
    }

    private void checkOpen() {
        if (closed) {
            throw new StoreException.Unavailable("the snapshot store at " + config.root() + " is closed", null);
        }
    }

    private static java.util.concurrent.ThreadFactory daemonThreads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> Thread.ofPlatform().daemon().name(prefix + n.incrementAndGet()).unstarted(r);
    }

    /**
     * The disk tier's filler: one thread, its queue bounded in bytes by ChunkReader, discarding only
     * after shutdown. It counts the fills handed to it that have not finished: its queue and active
     * count are both zero for a moment between a worker's taking a fill and its running it.
     */
    private static final class FillPool extends java.util.concurrent.ThreadPoolExecutor {
        final java.util.concurrent.atomic.AtomicLong unfinished;

        FillPool(java.util.concurrent.ThreadFactory threads) {
            this(threads, new java.util.concurrent.atomic.AtomicLong());
        }

        private FillPool(java.util.concurrent.ThreadFactory threads, java.util.concurrent.atomic.AtomicLong unfinished) {
            super(1, 1, 0, java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(), threads,
                    (fill, pool) -> unfinished.decrementAndGet());
            this.unfinished = unfinished;
        }

        @Override
        public void execute(Runnable fill) {
            unfinished.incrementAndGet();
            super.execute(fill);
        }

        @Override
        protected void afterExecute(Runnable fill, Throwable failure) {
            unfinished.decrementAndGet();
        }
    }
}
