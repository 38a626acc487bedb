package dev.thaw.node;

import dev.thaw.core.ErrorType;
import dev.thaw.core.FileTrees;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.ThawException;
import dev.thaw.criu.Criu;
import dev.thaw.criu.CriuStatus;
import io.helidon.webserver.WebServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The node: wires the function store, one {@link FunctionPool} per deployed function, the instance
 * launcher and CRIU, and serves the public API and the Runtime API on two loopback listeners.
 *
 * <p>Start-up probes CRIU once ({@link Criu#probe}); when it is unusable the node still runs and
 * every cold start boots, and {@code /healthz} and {@code thaw up} say why. Instances started by
 * this node are killed and waited for on {@link #close()}, and restores' work directories removed,
 * so a stopped node leaves no processes behind.
 */
final class ThawNode implements Node {
    private static final System.Logger LOG = System.getLogger("thaw.node");

    private final NodeConfig config;
    private final FunctionStore store;
    private final Map<String, FunctionPool> pools = new ConcurrentHashMap<>();
    private final Map<String, FunctionLog> logs = new ConcurrentHashMap<>();
    private final Map<String, Instance> instances = new ConcurrentHashMap<>();
    private final NodeMetrics metrics = new NodeMetrics();
    private final ScheduledExecutorService timers = Executors.newScheduledThreadPool(1,
            Thread.ofPlatform().daemon().name("thaw-timer").factory());
    private final CriuStatus criuStatus;
    private final Optional<Criu> criu;
    private static final Duration DRAIN = Duration.ofSeconds(10);

    private final CountDownLatch closed = new CountDownLatch(1);
    private volatile boolean closing;
    private volatile String storeProblem;
    private WebServer publicServer;
    private WebServer runtimeServer;
    private InstanceLauncher launcher;
    private SnapshotRepository repository;
    private String runtimeApiBase;

    private ThawNode(NodeConfig config) throws IOException {
        this.config = config;
        if (!Files.isRegularFile(config.runtimeJar())) {
            throw new ThawException(ErrorType.ServiceUnavailable, "the thaw runtime JAR is missing at "
                    + config.runtimeJar().toAbsolutePath() + ": build it with ./thaw (or mvn -pl runtime package)");
        }
        Files.createDirectories(config.dataDir());
        this.store = new FunctionStore(config.dataDir());
        this.criuStatus = Criu.probe(config.criu());
        this.criu = criuStatus.available() ? Optional.of(Criu.open(criuStatus, config.criu().orElseThrow())) : Optional.empty();
    }

    static Node start(NodeConfig config) {
        try {
            ThawNode node = new ThawNode(config);
            node.startServers();
            return node;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the node: " + e.getMessage(), e);
        }
    }

    private void startServers() throws IOException {
        RuntimeApi runtimeApi = new RuntimeApi(instances, pools);
        runtimeServer = WebServer.builder().host("127.0.0.1").port(0)
                .routing(runtimeApi::routing)
                .maxPayloadSize(PublicApi.MAX_PAYLOAD_BYTES + 1024L * 1024)
                .build().start();
        runtimeApiBase = "127.0.0.1:" + runtimeServer.port();
        Path work = Files.createTempDirectory("thaw-restore-");
        launcher = new InstanceLauncher(config.javaHome(), pinRuntime(), criu, Criu.runningAsRoot(), work);
        repository = new SnapshotRepository(hotRoot(), criu.isPresent() && config.snapshotStore()
                ? openSnapshotStoreOrWarn() : Optional.empty());
        metrics.storeTiers(repository::tierStats);
        metrics.restoreHeldBytes(repository::restoreHeldBytes);
        for (Deployment d : store.list()) {
            pools.put(d.name(), newPool(d));
        }
        PublicApi api = new PublicApi(this);
        try {
            publicServer = WebServer.builder().host("127.0.0.1").port(config.port())
                    .routing(api::routing)
                    .maxPayloadSize(PublicApi.MAX_DEPLOY_BYTES + 1024L * 1024)
                    .build().start();
        } catch (RuntimeException e) {
            runtimeServer.stop();
            throw new ThawException(ErrorType.ServiceUnavailable, "cannot listen on 127.0.0.1:" + config.port()
                    + " (" + e.getMessage() + "): is another node running? Use --port", e);
        }
        long keepAlive = config.keepAlive().toNanos();
        timers.scheduleWithFixedDelay(() -> pools.values().forEach(p -> p.retireIdle(keepAlive)), 1, 1, TimeUnit.SECONDS);
        LOG.log(System.Logger.Level.INFO, "thaw node on http://127.0.0.1:" + publicServer.port() + "; " + criuStatus.reason());
    }

    /**
     * Copies the runtime JAR into the data directory under a name derived from its content, and
     * runs instances from that copy. A snapshot's image refers to the runtime JAR by path; a rebuild
     * that rewrote the JAR in place would make old snapshots restore onto different bytes (or fail
     * CRIU's size check). Content-named copies are never rewritten, so every snapshot keeps the JAR
     * it was taken with.
     */
    private Path pinRuntime() throws IOException {
        byte[] jar = Files.readAllBytes(config.runtimeJar());
        String digest;
        try {
            digest = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(jar))
                    .substring(0, 16);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
        Path dir = Files.createDirectories(config.dataDir().resolve("runtime"));
        Path pinned = dir.resolve("thaw-runtime-" + digest + ".jar");
        if (!Files.exists(pinned)) {
            Path tmp = Files.createTempFile(dir, ".runtime", ".tmp");
            Files.write(tmp, jar);
            Files.move(tmp, pinned, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        return pinned.toAbsolutePath();
    }

    /**
     * Opens the store; a store that cannot open (its S3 tier unreachable at start, a data directory
     * it cannot write) must not keep the node down: snapshots then stay in the local working copy
     * only, and {@code /healthz} says so.
     */
    private Optional<dev.thaw.store.SnapshotStore> openSnapshotStoreOrWarn() {
        try {
            return Optional.of(openSnapshotStore());
        } catch (IOException | RuntimeException e) {
            storeProblem = "the snapshot store could not open (" + e.getMessage()
                    + "): snapshots are kept on this node only and do not survive a restart";
            LOG.log(System.Logger.Level.WARNING, storeProblem);
            return Optional.empty();
        }
    }

    /**
     * The snapshot store: chunked, encrypted with a secret of this node's (created on first start,
     * readable by the owner only), tiered from memory to disk to S3; without an S3 endpoint
     * configured, an embedded S3 server on a directory of the data dir.
     */
    private dev.thaw.store.SnapshotStore openSnapshotStore() throws IOException {
        Path secretFile = config.dataDir().resolve("store.secret");
        if (!Files.exists(secretFile)) {
            byte[] secret = new byte[32];
            new java.security.SecureRandom().nextBytes(secret);
            Path tmp = Files.createTempFile(config.dataDir(), ".secret", ".tmp",
                    java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                            java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
            Files.write(tmp, secret);
            Files.move(tmp, secretFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        var builder = dev.thaw.store.SnapshotStore.builder()
                .root(config.dataDir().resolve("store"))
                .secret(Files.readAllBytes(secretFile))
                .chunkSize(config.store().chunkSize())
                .encryption(config.store().encryption())
                .quietWhen(this::quiet)
                .warmUpReads(config.store().warmUpReads())
                .memoryBytes(config.store().memoryBytes())
                .diskBytes(config.store().diskBytes());
        config.s3().ifPresent(builder::s3);
        return builder.build();
    }

    /**
     * @return whether no instance is starting or busy and no invocation waits: the cores are free for
     *         background work (the store's read warm-up and its disk fills wait for it)
     */
    private boolean quiet() {
        return pools.values().stream().map(FunctionPool::counts)
                .allMatch(c -> c.starting() == 0 && c.busy() == 0 && c.queued() == 0);
    }

    /** The working copies of images: tmpfs when the machine has one, so restores read RAM. */
    private Path hotRoot() throws IOException {
        Path shm = Path.of("/dev/shm");
        String tag = Integer.toHexString(config.dataDir().toAbsolutePath().normalize().toString().hashCode());
        return Files.isDirectory(shm) && Files.isWritable(shm)
                ? shm.resolve("thaw-" + tag)
                : config.dataDir().resolve("images");
    }


    private FunctionPool newPool(Deployment d) {
        Optional<String> disabled = !d.manifest().snapshots()
                ? Optional.of("snapshots are off in the function's manifest")
                : criu.isEmpty() ? Optional.of(criuStatus.reason()) : Optional.empty();
        return new FunctionPool(d, Snapshot.forDeployment(d, repository.hotDir(d), disabled), log(d.name()), metrics,
                launcher, repository, criu, timers, instances, runtimeApiBase, config.queueLimit(),
                d.manifest().restoreMode() != null ? d.manifest().restoreMode() : config.restoreMode());
    }

    private FunctionLog log(String name) {
        return logs.computeIfAbsent(name, n -> {
            try {
                return new FunctionLog(store.functionDir(n).resolve("function.log"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    // ---- operations behind the public API --------------------------------------------------------

    Map<String, FunctionPool> pools() {
        return pools;
    }

    Optional<Criu> criu() {
        return criu;
    }

    NodeMetrics metrics() {
        return metrics;
    }

    SnapshotRepository repository() {
        return repository;
    }

    /** @return what the node knows about a function's snapshot, locally and in the store */
    java.util.Map<String, Object> snapshotReport(String name) {
        FunctionPool p = pool(name);
        java.util.Map<String, Object> r = new java.util.LinkedHashMap<>();
        r.put("function", name);
        r.put("version", p.deployment.version());
        r.put("snapshot", p.snapshot.info());
        r.put("workingCopy", p.snapshot.imagesDir().toString());
        r.put("store", repository.stats(p.deployment).orElse(null));
        r.put("workingSet", repository.workingSetStats(p.deployment).orElse(null));
        return r;
    }

    /** Drops a function's snapshot from the working copy and/or the store's local tiers; see {@link SnapshotRepository#evict}. */
    java.util.Map<String, Long> evictSnapshot(String name, java.util.Set<String> places) {
        FunctionPool p = pool(name);
        return repository.evict(p.deployment, p.snapshot.imagesDir(), places);
    }

    /**
     * Brings a function's snapshot into the node's working copy on tmpfs (from the store, if it is
     * not there), so that the next restores read it locally.
     *
     * @return bytes of the working copy and how long loading took
     */
    java.util.Map<String, Object> loadSnapshot(String name) throws IOException {
        FunctionPool p = pool(name);
        repository.settle();
        long start = System.nanoTime();
        if (!repository.ensureLocal(p.deployment, p.snapshot.imagesDir(), new RestoreReport())) {
            throw new ThawException(dev.thaw.core.ErrorType.InvalidRequest, "function '" + name
                    + "' has no snapshot, neither on this node nor in the snapshot store", null);
        }
        java.util.Map<String, Object> r = new java.util.LinkedHashMap<>();
        r.put("function", name);
        r.put("workingCopyBytes", FunctionStore.sizeOf(p.snapshot.imagesDir()));
        r.put("tookMs", (System.nanoTime() - start) / 1_000_000);
        return r;
    }

    /** @return how much two functions' stored snapshots share */
    dev.thaw.store.DedupStats compareSnapshots(String name, String other) {
        return repository.compare(pool(name).deployment, pool(other).deployment);
    }

    List<java.util.Map<String, Object>> snapshotReports() {
        return pools.keySet().stream().sorted().map(this::snapshotReport).toList();
    }

    int instanceCount() {
        return instances.size();
    }

    synchronized FunctionInfo deploy(FunctionManifest manifest, byte[] code) {
        FunctionPool old = pools.get(manifest.name());
        Deployment d = store.deploy(manifest, code);
        List<Invocation> carried = old == null ? List.of() : old.close();
        if (old != null) {
            repository.forget(old.deployment);
        }
        FunctionPool pool = newPool(d);
        pools.put(d.name(), pool);
        carried.forEach(pool::submit);
        log(d.name()).append("DEPLOY version " + d.version() + " handler " + d.manifest().handler());
        return info(pool);
    }

    synchronized long delete(String name) {
        FunctionPool pool = pools.remove(name);
        if (pool == null) {
            throw ThawException.functionNotFound(name);
        }
        pool.close().forEach(inv -> inv.fail(new ThawException(ErrorType.FunctionNotFound,
                "function '" + name + "' was deleted while the invocation waited")));
        store.delete(name);
        repository.forget(pool.deployment);
        return pool.deployment.version();
    }

    Invocation invoke(String name, byte[] payload) {
        if (closing) {
            throw new ThawException(ErrorType.ServiceUnavailable, "the node is shutting down");
        }
        return pool(name).submit(new Invocation(payload));
    }

    int evict(String name) throws InterruptedException {
        return pool(name).evictIdle();
    }

    List<String> logs(String name, int tail) {
        pool(name);
        return log(name).tail(tail);
    }

    FunctionInfo describe(String name) {
        return info(pool(name));
    }

    List<FunctionInfo> describeAll() {
        List<FunctionInfo> all = new ArrayList<>();
        pools.values().stream().sorted(java.util.Comparator.comparing(p -> p.deployment.name()))
                .forEach(p -> all.add(info(p)));
        return all;
    }

    private FunctionPool pool(String name) {
        FunctionPool p = pools.get(name);
        if (p == null) {
            throw ThawException.functionNotFound(name);
        }
        return p;
    }

    private static FunctionInfo info(FunctionPool p) {
        Deployment d = p.deployment;
        FunctionManifest m = d.manifest();
        return new FunctionInfo(d.name(), d.version(), m.handler(), m.runtime(), m.memoryMb(), m.timeoutMs(),
                List.copyOf(new java.util.TreeSet<>(m.environment().keySet())), m.maxInstances(), m.snapshots(),
                d.codeSha256(), d.codeSizeBytes(), d.deployedAt().toString(), p.snapshot.info(), p.counts(), p.restoreMode,
                m.priming() == null ? null : m.priming().rounds());
    }

    /**
     * Lets invocations that instances are running finish (up to {@link #DRAIN}) while the public
     * listener still answers them; invocations still queued are answered 503 at once.
     */
    private void drain() {
        closing = true;
        long deadline = System.nanoTime() + DRAIN.toNanos();
        for (FunctionPool p : pools.values()) {
            p.close().forEach(inv -> inv.fail(new ThawException(ErrorType.ServiceUnavailable,
                    "the node is shutting down; the invocation was not started")));
        }
        try {
            for (FunctionPool p : pools.values()) {
                p.awaitNoneBusy(deadline);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- Node --------------------------------------------------------------------------------------

    @Override
    public int port() {
        return publicServer.port();
    }

    @Override
    public String snapshotStatus() {
        return storeProblem == null ? criuStatus.reason() : criuStatus.reason() + "; " + storeProblem;
    }

    @Override
    public void awaitClose() throws InterruptedException {
        closed.await();
    }

    @Override
    public synchronized void close() {
        if (closed.getCount() == 0) {
            return;
        }
        drain();
        publicServer.stop();
        for (FunctionPool p : pools.values()) {
            try {
                p.shutdown();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        runtimeServer.stop();
        repository.close();
        timers.shutdownNow();
        logs.values().forEach(FunctionLog::close);
        FileTrees.deleteQuietly(launcher.workRoot());
        closed.countDown();
    }

}
