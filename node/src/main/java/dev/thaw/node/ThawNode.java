package dev.thaw.node;

import dev.thaw.core.ErrorType;
import dev.thaw.core.FileTrees;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.RestoreMode;
import dev.thaw.core.StartKind;
import dev.thaw.core.ThawException;
import dev.thaw.criu.Criu;
import dev.thaw.criu.CriuStatus;
import dev.thaw.node.api.NodeOperations;
import dev.thaw.node.api.PublicApi;
import dev.thaw.node.function.Deployment;
import dev.thaw.node.function.FunctionLog;
import dev.thaw.node.function.FunctionStore;
import dev.thaw.node.instance.FunctionInstances;
import dev.thaw.node.instance.Instance;
import dev.thaw.node.instance.InstanceLauncher;
import dev.thaw.node.instance.RuntimeListeners;
import dev.thaw.node.metrics.NodeMetrics;
import dev.thaw.node.pool.FunctionPool;
import dev.thaw.node.pool.Invocation;
import dev.thaw.node.pool.PoolObserver;
import dev.thaw.node.pool.Scheduler;
import dev.thaw.node.pool.Ticker;
import dev.thaw.node.snapshot.RestoreReport;
import dev.thaw.node.snapshot.Snapshot;
import dev.thaw.node.snapshot.SnapshotRepository;
import dev.thaw.store.DedupStats;
import dev.thaw.store.GcResult;
import io.helidon.webserver.WebServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/*
 * The node: wires the pieces an invocation passes through, front to back. The public API (api/)
 * hands an invocation to the function's pool (pool/), which schedules it onto an instance or asks
 * the function's starter (instance/) for a new one; the starter restores a clone from the
 * function's snapshot (snapshot/) or boots and checkpoints; deployments, code and logs live in the
 * function store (function/).
 *
 * Start-up probes CRIU once; when it is unusable the node still runs and every cold start boots, and
 * /healthz and `thaw up` say why. Instances started by this node are killed and waited for on
 * close(), and restores' work directories removed, so a stopped node leaves no processes behind.
 */
/** The node (see the comment above). */
final class ThawNode implements Node, NodeOperations {
    private static final System.Logger LOG = System.getLogger("thaw.node");
    private static final Duration DRAIN = Duration.ofSeconds(10);

    /** A deployed function: its pool (when instances run) and its starter (how they start). */
    private record Function(Deployment deployment, FunctionPool pool, FunctionInstances instances) {
    }

    private final NodeConfig config;
    private final FunctionStore store;
    private final Map<String, Function> functions = new ConcurrentHashMap<>();
    private final Map<String, FunctionLog> logs = new ConcurrentHashMap<>();
    private final Map<String, Instance> instances = new ConcurrentHashMap<>();
    private final NodeMetrics metrics = new NodeMetrics();
    private final ScheduledExecutorService timers = Executors.newScheduledThreadPool(1,
            Thread.ofPlatform().daemon().name("thaw-timer").factory());
    private final Scheduler scheduler = Scheduler.of(timers);
    private final Ticker ticker = Ticker.system();
    private final CriuStatus criuStatus;
    private final Optional<Criu> criu;
    private final String apiToken;
    private final Path awsCredentials;

    private final CountDownLatch closed = new CountDownLatch(1);
    private volatile boolean closing;
    private volatile String storeProblem;
    private WebServer publicServer;
    private InstanceLauncher launcher;
    private SnapshotRepository repository;
    private dev.thaw.node.xdt.XdtService xdt;

    private ThawNode(NodeConfig config) throws IOException {
        this.config = config;
        if (!Files.isRegularFile(config.runtimeJar())) {
            throw new ThawException(ErrorType.ServiceUnavailable, "the thaw runtime JAR is missing at "
                    + config.runtimeJar() + ": build it with ./thaw (or mvn -pl runtime package)");
        }
        Files.createDirectories(config.dataDir());
        this.store = new FunctionStore(config.dataDir());
        this.apiToken = Secrets.apiToken(config.dataDir());
        this.awsCredentials = Secrets.awsCredentials(config.dataDir());
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
        Path work = Files.createTempDirectory("thaw-restore-");
        launcher = new InstanceLauncher(config.javaHome(), pinRuntime(), criu, Criu.runningAsRoot(), work);
        Optional<dev.thaw.store.SnapshotStore> snapshotStore = criu.isPresent() && config.snapshotStore()
                ? openSnapshotStoreOrWarn() : Optional.empty();
        repository = new SnapshotRepository(hotRoot(), snapshotStore);
        metrics.storeTiers(repository::tierStats);
        metrics.restoreHeldBytes(repository::restoreHeldBytes);
        xdt = startTransfers(snapshotStore);
        for (Deployment d : store.list()) {
            functions.put(d.name(), newFunction(d));
        }
        try {
            publicServer = WebServer.builder().host("127.0.0.1").port(config.port())
                    .routing(r -> PublicApi.routing(r, this, new PublicApi.Security(this::port, apiToken,
                            config.openInvoke(), java.util.Set.of(), awsCredentials)))
                    .maxPayloadSize(PublicApi.maxDeployBytes() + 1024L * 1024)
                    .build().start();
        } catch (RuntimeException e) {
            throw new ThawException(ErrorType.ServiceUnavailable, "cannot listen on 127.0.0.1:" + config.port()
                    + " (" + e.getMessage() + "): is another node running? Use --port", e);
        }
        timers.scheduleWithFixedDelay(() -> functions.values().forEach(f -> f.pool().retireIdle(config.keepAlive())),
                1, 1, TimeUnit.SECONDS);
        LOG.log(System.Logger.Level.INFO, "thaw node on http://127.0.0.1:" + publicServer.port() + "; " + criuStatus.reason());
    }

    /**
     * Expedited data transfers: the cluster's transfer key (created on first start unless a key file
     * is configured), this node's id, its buffers and transfer listener. Durable puts go to the
     * snapshot store's S3 tier, so they need the store.
     */
    private dev.thaw.node.xdt.XdtService startTransfers(Optional<dev.thaw.store.SnapshotStore> snapshotStore)
            throws IOException {
        XdtSettings s = config.xdt();
        var key = dev.thaw.node.xdt.TransferKey.load(s.keyFile().orElse(config.dataDir().resolve("xdt.key")),
                s.keyFile().isEmpty());
        String noDurable = storeProblem != null ? storeProblem
                : !config.snapshotStore() ? "the node runs with --no-snapshot-store"
                : criu.isEmpty() ? "the node has no snapshot store without CRIU (" + criuStatus.reason() + ")"
                : "";
        var settings = new dev.thaw.node.xdt.XdtService.Settings(s.nodeId().orElseGet(this::storedNodeId), s.listenHost(),
                s.listenPort(), s.advertise(), s.memoryBytes(), s.diskBytes(),
                config.dataDir().resolve("xdt").resolve("buffers"), s.maxTtl(), 1 << 20, Duration.ofSeconds(1));
        var xdtMetrics = new dev.thaw.node.xdt.XdtMetrics(metrics.registry());
        var service = dev.thaw.node.xdt.XdtService.start(settings, key, dev.thaw.node.xdt.NodeDirectory.of(s.peers()),
                snapshotStore.map(st -> st.scratch("xdt")), noDurable, xdtMetrics, ticker, scheduler);
        xdtMetrics.buffers(metrics.registry(), service::stats);
        return service;
    }

    /** @return the node id kept in the data directory, created on first start */
    private String storedNodeId() {
        Path file = config.dataDir().resolve("node-id");
        try {
            if (!Files.exists(file)) {
                String id = "node-" + java.util.UUID.randomUUID().toString().substring(0, 8);
                Path tmp = Files.createTempFile(config.dataDir(), ".node-id", ".tmp");
                Files.writeString(tmp, id + "\n");
                Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            }
            return Files.readString(file).strip();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or create " + file + ": " + e.getMessage(), e);
        }
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
        return pinned;
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
        return functions.values().stream().map(f -> f.pool().counts())
                .allMatch(c -> c.starting() == 0 && c.busy() == 0 && c.queued() == 0);
    }

    /** The working copies of images: tmpfs when the machine has one, so restores read RAM. */
    private Path hotRoot() {
        Path shm = Path.of("/dev/shm");
        String tag = Integer.toHexString(config.dataDir().toString().hashCode());
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm.resolve("thaw-" + tag) : config.dataDir().resolve("images");
    }

    private Function newFunction(Deployment d) {
        Optional<String> disabled = !d.manifest().snapshots()
                ? Optional.of("snapshots are off in the function's manifest")
                : criu.isEmpty() ? Optional.of(criuStatus.reason()) : Optional.empty();
        Snapshot snapshot = Snapshot.forDeployment(d, repository.hotDir(d), disabled);
        RestoreMode mode = d.manifest().restoreMode() != null ? RestoreMode.parse(d.manifest().restoreMode())
                : config.restoreMode();
        FunctionLog log = log(d.name());
        FunctionInstances starter = new FunctionInstances(d, snapshot, mode, new FunctionInstances.Context(log, metrics,
                launcher, repository, criu, scheduler, instances, RuntimeListeners.loopback(), xdt));
        var m = d.manifest();
        FunctionPool pool = new FunctionPool(new FunctionPool.Settings(d.name(), d.version(), m.maxInstances(),
                m.timeoutMs(), m.memoryMb(), config.queueLimit()), starter, ticker, scheduler, observer(d.name(), log));
        return new Function(d, pool, starter);
    }

    /** Where a pool's lines and figures go: the function's log and the node's metrics. */
    private PoolObserver observer(String name, FunctionLog log) {
        return new PoolObserver() {
            @Override
            public void log(String line) {
                log.append(line);
            }

            @Override
            public void invocation(String code, StartKind start, double seconds) {
                metrics.invocation(name, code, start, seconds);
            }

            @Override
            public void coldStart(StartKind kind, double seconds) {
                metrics.coldStart(name, kind, seconds);
            }

            @Override
            public void counts(FunctionInfo.InstanceCounts counts) {
                metrics.instances(name, counts);
            }
        };
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

    private Function function(String name) {
        Function f = functions.get(name);
        if (f == null) {
            throw ThawException.functionNotFound(name);
        }
        return f;
    }

    // ---- NodeOperations ------------------------------------------------------------------------

    @Override
    public Map<String, Object> health() {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", "ok");
        Map<String, Object> snapshots = new LinkedHashMap<>();
        snapshots.put("enabled", criu.isPresent());
        snapshots.put("reason", snapshotStatus());
        body.put("snapshots", snapshots);
        body.put("functions", functions.size());
        body.put("instances", instances.size());
        var x = xdt.stats();
        Map<String, Object> transfers = new LinkedHashMap<>();
        transfers.put("nodeId", xdt.nodeId());
        transfers.put("objects", x.objects());
        transfers.put("memoryBytes", x.memoryBytes());
        transfers.put("diskBytes", x.diskBytes());
        body.put("transfers", transfers);
        return body;
    }

    @Override
    public String metricsContentType() {
        return metrics.contentType();
    }

    @Override
    public byte[] scrapeMetrics() {
        return metrics.scrape();
    }

    @Override
    public Map<String, Object> snapshotReport(String name) {
        Function f = function(name);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("function", name);
        r.put("version", f.deployment().version());
        r.put("snapshot", f.instances().snapshot().info());
        r.put("workingCopy", f.instances().snapshot().imagesDir().toString());
        r.put("store", repository.stats(f.deployment()).orElse(null));
        r.put("workingSet", repository.workingSetStats(f.deployment()).orElse(null));
        return r;
    }

    @Override
    public Map<String, Long> evictSnapshot(String name, Set<String> places) {
        Function f = function(name);
        return repository.evict(f.deployment(), f.instances().snapshot().imagesDir(), places);
    }

    @Override
    public Map<String, Object> loadSnapshot(String name) throws IOException {
        Function f = function(name);
        repository.settle();
        long start = System.nanoTime();
        if (!repository.ensureLocal(f.deployment(), f.instances().snapshot().imagesDir(), new RestoreReport())) {
            throw ThawException.invalidRequest("function '%s' has no snapshot, neither on this node nor in the snapshot store",
                    name);
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("function", name);
        r.put("workingCopyBytes", FunctionStore.sizeOf(f.instances().snapshot().imagesDir()));
        r.put("tookMs", (System.nanoTime() - start) / 1_000_000);
        return r;
    }

    @Override
    public DedupStats compareSnapshots(String name, String other) {
        return repository.compare(function(name).deployment(), function(other).deployment());
    }

    @Override
    public GcResult gc() {
        return repository.gc().orElseThrow(() -> new ThawException(ErrorType.ServiceUnavailable,
                "this node has no snapshot store: " + snapshotStatus()));
    }

    @Override
    public List<Map<String, Object>> snapshotReports() {
        return functions.keySet().stream().sorted().map(this::snapshotReport).toList();
    }

    @Override
    public boolean isDeployed(String name) {
        return functions.containsKey(name);
    }

    @Override
    public synchronized FunctionInfo deploy(FunctionManifest manifest, byte[] code) {
        Function old = functions.get(manifest.name());
        Deployment d = store.deploy(manifest, code);
        List<Invocation> carried = old == null ? List.of() : old.pool().close();
        if (old != null) {
            repository.forget(old.deployment());
        }
        Function f = newFunction(d);
        functions.put(d.name(), f);
        carried.forEach(f.pool()::submit);
        log(d.name()).append("DEPLOY version " + d.version() + " handler " + d.manifest().handler());
        return info(f);
    }

    @Override
    public synchronized long delete(String name) {
        Function f = functions.remove(name);
        if (f == null) {
            throw ThawException.functionNotFound(name);
        }
        f.pool().close().forEach(inv -> inv.fail(new ThawException(ErrorType.FunctionNotFound,
                "function '" + name + "' was deleted while the invocation waited")));
        store.delete(name);
        repository.forget(f.deployment());
        return f.deployment().version();
    }

    @Override
    public Invocation invoke(String name, byte[] payload) {
        if (closing) {
            throw new ThawException(ErrorType.ServiceUnavailable, "the node is shutting down");
        }
        return function(name).pool().submit(new Invocation(payload));
    }

    @Override
    public int evict(String name) throws InterruptedException {
        return function(name).pool().evictIdle();
    }

    @Override
    public List<String> logs(String name, int tail) {
        function(name);
        return log(name).tail(tail);
    }

    @Override
    public FunctionInfo describe(String name) {
        return info(function(name));
    }

    @Override
    public List<FunctionInfo> describeAll() {
        List<FunctionInfo> all = new ArrayList<>();
        functions.values().stream().sorted(Comparator.comparing(f -> f.deployment().name())).forEach(f -> all.add(info(f)));
        return all;
    }

    private static FunctionInfo info(Function f) {
        Deployment d = f.deployment();
        FunctionManifest m = d.manifest();
        return new FunctionInfo(d.name(), d.version(), m.handler(), m.runtime(), m.memoryMb(), m.timeoutMs(),
                List.copyOf(new TreeSet<>(m.environment().keySet())), m.maxInstances(), m.snapshots(),
                d.codeSha256(), d.codeSizeBytes(), d.deployedAt().toString(), f.instances().snapshot().info(),
                f.pool().counts(), f.instances().restoreMode().wireName(),
                m.priming() == null ? null : m.priming().rounds());
    }

    /**
     * Lets invocations that instances are running finish (up to {@link #DRAIN}) while the public
     * listener still answers them; invocations still queued are answered 503 at once.
     */
    private void drain() {
        closing = true;
        long deadline = ticker.nanos() + DRAIN.toNanos();
        for (Function f : functions.values()) {
            f.pool().close().forEach(inv -> inv.fail(new ThawException(ErrorType.ServiceUnavailable,
                    "the node is shutting down; the invocation was not started")));
        }
        try {
            for (Function f : functions.values()) {
                f.pool().awaitNoneBusy(deadline);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- Node ----------------------------------------------------------------------------------

    @Override
    public int port() {
        return publicServer.port();
    }

    @Override
    public String apiToken() {
        return apiToken;
    }

    @Override
    public Path awsCredentialsFile() {
        return awsCredentials;
    }

    @Override
    public String nodeId() {
        return xdt.nodeId();
    }

    @Override
    public String transferAddress() {
        return xdt.address();
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
        for (Function f : functions.values()) {
            try {
                f.pool().shutdown(new ThawException(ErrorType.ServiceUnavailable, "the node is shutting down"));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        xdt.close();
        repository.close();
        timers.shutdownNow();
        logs.values().forEach(FunctionLog::close);
        FileTrees.deleteQuietly(launcher.workRoot());
        closed.countDown();
    }
}
