package dev.thaw.node;

import dev.thaw.core.ErrorType;
import dev.thaw.core.FileTrees;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.Json;
import dev.thaw.core.RestoreMode;
import dev.thaw.core.StartKind;
import dev.thaw.core.ThawException;
import dev.thaw.criu.Criu;
import dev.thaw.criu.CriuStatus;
import dev.thaw.node.api.LambdaErrors;
import dev.thaw.node.api.NodeOperations;
import dev.thaw.node.api.PublicApi;
import dev.thaw.node.event.DeadLetter;
import dev.thaw.node.event.EventQueue;
import dev.thaw.node.event.EventWorker;
import dev.thaw.node.event.QueuedEvent;
import dev.thaw.node.function.Deployment;
import dev.thaw.node.function.FunctionLog;
import dev.thaw.node.function.FunctionRef;
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
import dev.thaw.sandbox.SandboxConfig;
import dev.thaw.sandbox.SandboxStatus;
import dev.thaw.sandbox.Sandboxes;
import dev.thaw.store.DedupStats;
import dev.thaw.store.GcResult;
import io.helidon.webserver.WebServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/*
 * The node: wires the pieces an invocation passes through, front to back. The public API (api/)
 * hands an invocation to the pool (pool/) of the function version it names, which schedules it onto
 * an instance or asks the version's starter (instance/) for a new one; the starter restores a clone
 * from the version's snapshot (snapshot/) or boots and checkpoints; deployments, versions, aliases,
 * code and logs live in the function store (function/). Asynchronous invocations wait in a durable
 * queue (event/) whose worker submits them to the same pools, with Lambda's retries.
 *
 * Every deploy is a new version and the older ones stay invocable: each version that is invoked gets
 * its own pool and its own snapshot. The latest version's pool exists from the deploy (or the node's
 * start); an older one's is made when it is first invoked. A deploy moves the invocations waiting on
 * the previous latest version that named no version to the new one, and stops the previous version's
 * idle instances (its snapshot stays). Versions beyond the last few (NodeConfig.versionsKept) that no
 * alias points to are retired: their pool closes, their instances finish what they run, then their
 * code and snapshot are deleted.
 *
 * Start-up probes CRIU once; when it is unusable the node still runs and every cold start boots, and
 * /healthz and `thaw up` say why. Instances started by this node are killed and waited for on
 * close(), and restores' work directories removed, so a stopped node leaves no processes behind.
 *
 * close() drains first: new work is refused (503) while the invocations already accepted, queued
 * ones included, run to their end, up to NodeConfig.drainGrace; what is left then is answered with
 * an error saying so, and asynchronous invocations not yet finished stay in the queue for the next
 * start. The web servers do not stop themselves on the JVM's shutdown: Helidon's own shutdown hook
 * would stop them concurrently with `thaw up`'s, interrupting the threads of requests in flight
 * (whose callers then got "500 InternalError: InterruptedException: null"), so shutdownHook(false)
 * leaves their stop to close().
 */
/** The node (see the comment above). */
final class ThawNode implements Node, NodeOperations {
    private static final System.Logger LOG = System.getLogger("thaw.node");
    /** After the drain, how long answers to what was left may take to be sent before the listener stops. */
    private static final Duration ANSWER_WAIT = Duration.ofSeconds(3);
    /** A retired version's invocations in progress get this long beyond its timeout before its instances are killed. */
    private static final Duration RETIRE_MARGIN = Duration.ofSeconds(5);
    /** How often the node looks for an instance to take a function's warmed snapshot of. */
    private static final Duration WARM_SNAPSHOT_TICK = Duration.ofSeconds(2);
    /** How long a cluster's node waits for etcd when it joins; requests that came meanwhile wait as long. */
    private static final Duration JOIN_WAIT = Duration.ofSeconds(30);

    /** One version of a function that runs: its pool and its starter (how its instances start). */
    private record Function(Deployment deployment, FunctionPool pool, FunctionInstances instances) {
    }

    private final NodeConfig config;
    private final FunctionStore store;
    /** The versions that have a pool, by function name then version. */
    private final Map<String, Map<Long, Function>> functions = new ConcurrentHashMap<>();
    /** Each version's instance counts as its pool last reported them, summed per function for metrics. */
    private final Map<String, Map<Long, FunctionInfo.InstanceCounts>> counts = new ConcurrentHashMap<>();
    /** Versions being retired: no longer invocable, their pool draining. */
    private final Set<String> retiring = ConcurrentHashMap.newKeySet();
    private final Map<String, FunctionLog> logs = new ConcurrentHashMap<>();
    private final Map<String, Instance> instances = new ConcurrentHashMap<>();
    private final NodeMetrics metrics = new NodeMetrics();
    private final ScheduledExecutorService timers = Scheduler.timer("thaw-timer");
    private final ExecutorService eventThread = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon().name("thaw-events").factory());
    /** Event attempts another node of the cluster runs: each waits for that node's answer on a virtual thread. */
    private final ExecutorService eventForwards = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("thaw-event-forward-", 1).factory());
    private final Scheduler scheduler = Scheduler.of(timers);
    private final Ticker ticker = Ticker.system();
    /**
     * Invocations accepted and not ended yet, of every function, and instances starting: a deploy's
     * long warm-up yields to them; a snapshot's publish, the store's read warm-up and its disk fills
     * wait for a spell without them.
     */
    private final dev.thaw.node.snapshot.ForegroundWork foreground =
            new dev.thaw.node.snapshot.ForegroundWork(ticker::nanos, () -> !quiet());
    private final CriuStatus criuStatus;
    private final Optional<Criu> criu;
    /** The instances' sandboxes; empty when the node runs them without one (and says why in sandboxStatus). */
    private Optional<Sandboxes> sandboxes = Optional.empty();
    private String sandboxStatus = "off";
    /** The egress proxy's allow list, for sandboxed instances; empty when egress is off or there is no sandbox. */
    private Optional<dev.thaw.egress.EgressPolicy> egress = Optional.empty();
    private String egressStatus = "off";
    private String cleanedAtStart = "";
    private final String apiToken;
    private final Path awsCredentials;

    private final CountDownLatch closed = new CountDownLatch(1);
    private volatile boolean closing;
    /** Requests admitted (invocations of every type) whose answer is not sent yet. Guarded by itself. */
    private final int[] admitted = new int[1];
    private volatile String storeProblem;
    private WebServer publicServer;
    private InstanceLauncher launcher;
    private SnapshotRepository repository;
    private EventQueue eventQueue;
    /** The event queue of a cluster node, which also keeps its events in the cluster's ledger; null alone. */
    private dev.thaw.node.event.LedgeredEventQueue ledgeredEvents;
    private EventWorker events;
    /** Autoscaling, pre-restored clones, chain predictions and freshen calls. */
    private dev.thaw.node.ahead.AheadOfDemand ahead;
    /** The cluster this node is part of; empty for a node on its own. */
    private volatile Optional<dev.thaw.node.cluster.ClusterNode> cluster = Optional.empty();
    /** Open once a cluster's node has joined; open from the start on a node on its own. */
    private final java.util.concurrent.CountDownLatch joined;
    /** The shared store's code and snapshot metadata, in a cluster whose store secret this node shares. */
    private Optional<dev.thaw.node.snapshot.SharedObjects> sharedObjects = Optional.empty();
    /** Why this node serves no snapshot although it could (a store secret that is not the cluster's). */
    private volatile String snapshotsRefused;
    /** The instances' view of the cluster's snapshot sharing: nothing until the node has joined. */
    private final LateShared shared = new LateShared();
    private final dev.thaw.node.placement.Forwarder forwarder = new dev.thaw.node.placement.Forwarder(
            (int) Duration.ofMinutes(16).toMillis());
    private dev.thaw.node.xdt.XdtService xdt;
    /** The node's invoke API for functions' own code (THAW_NODE_URL). */
    private final NodeCallRelay calls;

    private ThawNode(NodeConfig config) throws IOException {
        this.config = config;
        this.joined = new java.util.concurrent.CountDownLatch(config.cluster().isPresent() ? 1 : 0);
        if (!Files.isRegularFile(config.runtimeJar())) {
            throw new ThawException(ErrorType.ServiceUnavailable, "the thaw runtime JAR is missing at "
                    + config.runtimeJar() + ": build it with ./thaw (or mvn -pl runtime package)");
        }
        Files.createDirectories(config.dataDir());
        this.store = new FunctionStore(config.dataDir());
        this.apiToken = Secrets.apiToken(config.dataDir(), config.secrets().apiToken());
        this.calls = new NodeCallRelay(forwarder, this::port, apiToken);
        this.awsCredentials = Secrets.awsCredentials(config.dataDir(), config.secrets().awsCredentials());
        this.criuStatus = Criu.probe(config.criu());
        this.criu = criuStatus.available() ? Optional.of(Criu.open(criuStatus, config.criu().orElseThrow())) : Optional.empty();
        openSandboxes();
        configureEgress();
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

    /**
     * Where restores keep their logs, pid files and lazy-pages sockets: under the temporary directory
     * (a socket's path must stay short, a data directory's may not be), named after the data
     * directory, so a node that starts after one killed with SIGKILL finds and removes what it left.
     */
    static Path restoreWorkDir(Path dataDir) throws IOException {
        Path work = Path.of(System.getProperty("java.io.tmpdir"), "thaw-restore-" + Sandboxes.nodeKey(dataDir));
        FileTrees.deleteQuietly(work);
        Files.createDirectories(work, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
        return work;
    }

    /** @return whether {@code d} is its function's latest version (the one the autoscaler manages) */
    private boolean isLatestVersion(Deployment d) {
        return store.get(d.name()).map(l -> l.version() == d.version()).orElse(false);
    }

    private void startServers() throws IOException {
        Path work = restoreWorkDir(config.dataDir());
        launcher = new InstanceLauncher(config.javaHome(), pinRuntime(), criu, Criu.runningAsRoot(), work);
        Optional<dev.thaw.store.SnapshotStore> snapshotStore = criu.isPresent() && config.snapshotStore()
                ? openSnapshotStoreOrWarn() : Optional.empty();
        repository = new SnapshotRepository(hotRoot(), snapshotStore, foreground);
        metrics.storeTiers(repository::tierStats);
        metrics.storeBackgroundBoosts(dev.thaw.store.SnapshotStore::backgroundBoosts);
        metrics.restoreHeldBytes(repository::restoreHeldBytes);
        xdt = startTransfers(snapshotStore);
        ahead = new dev.thaw.node.ahead.AheadOfDemand(ticker::nanos, scheduler, config.keepAlive(),
                new dev.thaw.node.ahead.AheadOfDemand.Observer() {
                    @Override
                    public void freshen(String function, String outcome) {
                        metrics.freshen(function, outcome);
                    }

                    @Override
                    public void predicted(String function, String from) {
                        metrics.predictedClone(function, from);
                    }
                }, config.predictions(), config.freshenLimits());
        for (Deployment d : store.list()) {
            Function f = runtime(d);
            if (config.cluster().isEmpty()) { // a cluster's node never holds a publish; its claim lapses for another
                f.instances().storeWhatAKilledNodeLeft();
            }
            if (isLatestVersion(d)) {
                ahead.manage(d.name(), f.pool(), d.manifest());
            }
            prune(d.name()); // versions a crash left behind before they were deleted
        }
        ahead.start();
        metrics.predictions(ahead::outcomes);
        Path eventsDir = config.dataDir().resolve("events");
        eventQueue = EventQueue.files(eventsDir);
        if (config.cluster().isPresent()) {
            // events go to the cluster's ledger too; the worker starts once the node has joined and reconciled
            ledgeredEvents = new dev.thaw.node.event.LedgeredEventQueue(eventQueue, eventsDir, Duration.ofSeconds(10));
            eventQueue = ledgeredEvents;
        }
        events = new EventWorker(eventQueue, this::dispatch,
                EventWorker.Policy.withRetryDelay(config.eventRetryDelay()), ticker, scheduler, eventThread, metrics.events());
        metrics.eventsPending(events::pending);
        if (ledgeredEvents == null) {
            events.start();
        }
        try {
            publicServer = WebServer.builder().host("127.0.0.1").port(config.port()).shutdownHook(false)
                    .routing(r -> PublicApi.routing(r, this, new PublicApi.Security(this::port, apiToken,
                            config.openInvoke(), java.util.Set.of(), awsCredentials)))
                    .maxPayloadSize(PublicApi.maxDeployBytes() + 1024L * 1024)
                    .build().start();
        } catch (RuntimeException e) {
            throw new ThawException(ErrorType.ServiceUnavailable, "cannot listen on 127.0.0.1:" + config.port()
                    + " (" + e.getMessage() + "): is another node running? Use --port", e);
        }
        if (!publicServer.isRunning() || publicServer.port() < 0) {
            // Helidon logs a listener that cannot bind and returns a stopped server instead of throwing
            throw new ThawException(ErrorType.ServiceUnavailable, "cannot listen on 127.0.0.1:" + config.port()
                    + ": is another node running? Use --port");
        }
        timers.scheduleWithFixedDelay(() -> all().forEach(f -> f.pool().retireIdle(config.keepAlive())),
                1, 1, TimeUnit.SECONDS);
        timers.scheduleWithFixedDelay(this::considerWarmSnapshots, WARM_SNAPSHOT_TICK.toMillis(),
                WARM_SNAPSHOT_TICK.toMillis(), TimeUnit.MILLISECONDS);
        config.cluster().ifPresent(this::joinCluster);
        LOG.log(System.Logger.Level.INFO, "thaw node on http://127.0.0.1:" + publicServer.port() + "; " + criuStatus.reason());
    }

    /** Every version that has a pool: a warmed snapshot when an instance qualifies (FunctionInstances). */
    private void considerWarmSnapshots() {
        all().forEach(f -> {
            try {
                f.instances().considerWarmSnapshot(f.pool());
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "warmed snapshot of " + f.deployment().name() + ": " + e);
            }
        });
    }

    /**
     * Joins the cluster once the API listens (its address is what the others forward to): checks
     * that this node's store secret is the cluster's, then registers, installs every function the
     * registry holds and forgets those it no longer holds.
     */
    private void joinCluster(ClusterSettings settings) {
        repository.store().ifPresent(s -> {
            try {
                var objects = new dev.thaw.node.snapshot.SharedObjects(s, config.dataDir().resolve("cluster-staging"));
                Optional<String> wrong = objects.checkSecret(settings.name(), Files.readAllBytes(storeSecretFile()));
                if (wrong.isPresent()) {
                    snapshotsRefused = "this node's store secret is not the cluster's: " + wrong.get()
                            + "; it serves no snapshot until it is started with the cluster's (--store-secret-file)";
                    LOG.log(System.Logger.Level.ERROR, snapshotsRefused);
                } else {
                    sharedObjects = Optional.of(objects);
                }
            } catch (IOException | RuntimeException e) {
                snapshotsRefused = "the shared store's key check failed (" + e.getMessage()
                        + "): this node serves no snapshot until the store answers";
                LOG.log(System.Logger.Level.ERROR, snapshotsRefused);
            }
        });
        if (snapshotsRefused != null) {
            all().forEach(f -> f.instances().snapshot().disable(snapshotsRefused));
        }
        java.net.URI advertise = settings.advertise().orElse(java.net.URI.create("http://127.0.0.1:" + port()));
        var node = dev.thaw.node.cluster.ClusterNode.join(settings, advertise, xdt.address(), new ClusterHooks(),
                sharedObjects, sandboxes.isPresent(), JOIN_WAIT);
        cluster = Optional.of(node);
        shared.target = node;
        attachEvents(node, settings.name());
        Set<String> registered = node.functions();
        if (node.connection().isConnected()) {
            for (Deployment d : store.list()) {
                if (!registered.contains(d.name())) {
                    LOG.log(System.Logger.Level.INFO, "cluster: '" + d.name() + "' was deleted while this node was away");
                    deleteHere(d.name());
                }
            }
        }
        joined.countDown();
    }

    @Override
    public void awaitJoined() {
        if (joined.getCount() == 0) {
            return; // every request of a node on its own, or once joined: nothing more on the warm path
        }
        try {
            // a little longer than the join itself waits for etcd, which then fails the node's start
            if (!joined.await(JOIN_WAIT.plusSeconds(5).toMillis(), TimeUnit.MILLISECONDS)) {
                throw new ThawException(ErrorType.ServiceUnavailable, "this node is still joining its cluster (etcd at "
                        + config.cluster().map(c -> c.etcd().toString()).orElse("?") + "): try again in a few seconds");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ThawException(ErrorType.ServiceUnavailable, "interrupted while this node joins its cluster", e);
        }
    }

    /**
     * Reconciles this node's events with the cluster's ledger, starts running them, and takes over
     * the events of nodes that left while none was there to take them; retried in the background
     * while etcd does not answer (new events wait for it, briefly, then are refused).
     */
    private void attachEvents(dev.thaw.node.cluster.ClusterNode node, String clusterName) {
        try {
            var r = ledgeredEvents.attach(node.events(), clusterName);
            if (r.recorded() + r.fromLedger() + r.dropped() > 0) {
                LOG.log(System.Logger.Level.INFO, "cluster: events reconciled with the ledger: " + r.recorded()
                        + " recorded, " + r.fromLedger() + " taken from it, " + r.dropped()
                        + " dropped (taken over or ended by other nodes while this one was away)");
            }
            events.start();
            Set<String> members = node.memberIds();
            for (String owner : node.events().owners()) {
                if (!members.contains(owner)) {
                    adoptEvents(node, owner);
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "cluster: events not reconciled with the ledger yet ("
                    + e.getMessage() + "); trying again in 2 s");
            timers.schedule(() -> attachEvents(node, clusterName), 2, TimeUnit.SECONDS);
        }
    }

    /** Runs here the events node {@code owner} accepted and did not finish (it left the cluster). */
    private void adoptEvents(dev.thaw.node.cluster.ClusterNode node, String owner) {
        try {
            var taken = node.events().adopt(owner);
            for (byte[] bytes : taken.values()) {
                events.adopt(dev.thaw.node.event.LedgeredEventQueue.event(bytes));
            }
            if (!taken.isEmpty()) {
                LOG.log(System.Logger.Level.INFO, "cluster: node " + owner + " left with " + taken.size()
                        + " events unfinished; this node runs them");
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "cluster: the events of node " + owner + ", which left, were not taken"
                    + " over by this node (" + e.getMessage() + "); another node's, or this node's next start, will");
        }
    }

    /** What the cluster asks of this node, and tells it. */
    private final class ClusterHooks implements dev.thaw.node.cluster.ClusterNode.Hooks {
        @Override
        public void left(String nodeId) {
            if (ledgeredEvents != null && !closing) {
                Thread.ofVirtual().name("thaw-adopt-" + nodeId).start(() -> cluster.ifPresent(n -> adoptEvents(n, nodeId)));
            }
        }

        @Override
        public void deployed(dev.thaw.cluster.FunctionVersion v) {
            installFromCluster(v);
        }

        @Override
        public void deleted(String name) {
            if (store.get(name).isPresent()) {
                deleteHere(name);
            }
        }

        @Override
        public void aliased(String name, String alias, long version, String by) {
            mirrorAlias(name, alias, version, " (cluster-wide, through node " + by + ")");
        }

        @Override
        public void unaliased(String name, String alias) {
            unmirrorAlias(name, alias, " (cluster-wide)");
        }

        @Override
        public dev.thaw.node.cluster.ClusterNode.Load load() {
            return clusterLoad();
        }
    }

    /** Installs a version another node deployed (its code from the shared store), unless it is here. */
    private Deployment installFromCluster(dev.thaw.cluster.FunctionVersion v) {
        Optional<Deployment> here = store.version(v.name(), v.version());
        if (here.isPresent()) {
            return here.get();
        }
        if (sharedObjects.isEmpty()) {
            throw new ThawException(ErrorType.ServiceUnavailable, "version " + v.version() + " of '" + v.name()
                    + "' was deployed through node " + v.deployedBy() + " but this node cannot read the shared store"
                    + (snapshotsRefused == null ? "" : ": " + snapshotsRefused));
        }
        try {
            String sha = v.codeHash().startsWith("sha256:") ? v.codeHash().substring("sha256:".length()) : v.codeHash();
            byte[] code = sharedObjects.get().code(v.codeKey(), sha);
            FunctionManifest manifest = Json.mapper().readValue(v.manifest(), FunctionManifest.class);
            return installVersion(manifest, code, v, " (through node " + v.deployedBy() + ")").deployment();
        } catch (IOException e) {
            throw new ThawException(ErrorType.ServiceUnavailable, "version " + v.version() + " of '" + v.name()
                    + "' cannot be installed here: " + e.getMessage(), e);
        }
    }

    /** What this node tells the cluster of itself, for placement. */
    private dev.thaw.node.cluster.ClusterNode.Load clusterLoad() {
        int busy = 0;
        Map<String, Integer> idle = new java.util.TreeMap<>();
        Set<String> memory = new TreeSet<>();
        Set<String> disk = new TreeSet<>();
        for (Function f : all().toList()) {
            FunctionInfo.InstanceCounts c = f.pool().counts();
            busy += c.busy() + c.starting();
            if (c.idle() > 0) {
                idle.put(key(f.deployment()), c.idle());
            }
            if (f.instances().snapshot().state() == Snapshot.State.READY) {
                Set<String> tiers = repository.localTiers(f.deployment());
                String id = repository.snapshotId(f.deployment());
                if (tiers.contains("memory")) {
                    memory.add(id);
                } else if (tiers.contains("disk")) {
                    disk.add(id);
                }
            }
        }
        return new dev.thaw.node.cluster.ClusterNode.Load(busy, idle, memory, disk);
    }

    /**
     * Defers to the cluster once the node joined one; shares nothing before (and on a node on its own).
     * It overrides every method, the interface's defaults included (a test checks).
     */
    static final class LateShared implements dev.thaw.node.instance.SharedSnapshots {
        volatile dev.thaw.node.instance.SharedSnapshots target = NONE;

        @Override
        public boolean shared() {
            return target.shared();
        }

        @Override
        public Decision beforeCheckpoint(Deployment d, Snapshot s) {
            return target.beforeCheckpoint(d, s);
        }

        @Override
        public boolean awaitedElsewhere(Deployment d) {
            return target.awaitedElsewhere(d);
        }

        @Override
        public void taken(Deployment d, Snapshot s) {
            target.taken(d, s);
        }

        @Override
        public void notTaken(Deployment d, String why) {
            target.notTaken(d, why);
        }

        @Override
        public void discarded(Deployment d, String snapshotId, String why) {
            target.discarded(d, snapshotId, why);
        }

        @Override
        public Optional<Catalogued> catalogued(Deployment d) {
            return target.catalogued(d);
        }

        @Override
        public Optional<String> warmed(Deployment d, Snapshot s) {
            return target.warmed(d, s);
        }

        @Override
        public Optional<String> claimWarming(Deployment d) {
            return target.claimWarming(d);
        }

        @Override
        public void releaseWarming(Deployment d) {
            target.releaseWarming(d);
        }

        @Override
        public boolean fetchMeta(String snapshotId, java.nio.file.Path metaDir) throws IOException {
            return target.fetchMeta(snapshotId, metaDir);
        }
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
        String nodeId = s.nodeId().or(() -> config.cluster().map(ClusterSettings::nodeId)).orElseGet(this::storedNodeId);
        var settings = new dev.thaw.node.xdt.XdtService.Settings(nodeId, s.listenHost(),
                s.listenPort(), s.advertise(), s.memoryBytes(), s.diskBytes(),
                config.dataDir().resolve("xdt").resolve("buffers"), s.maxTtl(), 1 << 20, Duration.ofSeconds(1));
        var xdtMetrics = new dev.thaw.node.xdt.XdtMetrics(metrics.registry());
        var peers = dev.thaw.node.xdt.NodeDirectory.of(s.peers());
        // in a cluster, where a node pulls from is the membership's answer (a node that left is gone at once)
        dev.thaw.node.xdt.NodeDirectory directory = id -> {
            var fixed = peers.locate(id);
            return cluster.isPresent() && fixed instanceof dev.thaw.node.xdt.NodeDirectory.Location.Unknown
                    ? cluster.get().locate(id) : fixed;
        };
        var service = dev.thaw.node.xdt.XdtService.start(settings, key, directory,
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
        // a sandboxed instance reads it as a user of its own: readable by all, as any installed JAR is
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(pinned, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
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
    private Path storeSecretFile() {
        return config.secrets().storeSecret().map(f -> Secrets.given(f, "store secret"))
                .orElse(config.dataDir().resolve("store.secret"));
    }

    private dev.thaw.store.SnapshotStore openSnapshotStore() throws IOException {
        Path secretFile = storeSecretFile();
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
                .quietWhen(() -> foreground.quietFor(dev.thaw.node.snapshot.ForegroundWork.QUIET_SPELL))
                .warmUpReads(config.store().warmUpReads())
                .memoryBytes(config.store().memoryBytes())
                .diskBytes(config.store().diskBytes());
        config.s3().ifPresent(builder::s3);
        return builder.build();
    }

    /**
     * @return whether no instance is starting or busy and no invocation waits, at this instant
     *         ({@link #foreground} makes a spell of it for background work)
     */
    private boolean quiet() {
        return all().map(f -> f.pool().counts())
                .allMatch(c -> c.starting() == 0 && c.busy() == 0 && c.queued() == 0);
    }

    /** @return every version that has a pool */
    private java.util.stream.Stream<Function> all() {
        return functions.values().stream().flatMap(v -> v.values().stream());
    }

    /** The working copies of images: tmpfs when the machine has one, so restores read RAM. */
    private Path hotRoot() throws IOException {
        Path shm = Path.of("/dev/shm");
        if (!Files.isDirectory(shm) || !Files.isWritable(shm)) {
            return config.dataDir().resolve("images");
        }
        List<Path> swept = dev.thaw.node.snapshot.WorkingCopyRoots.sweepOrphans(shm);
        if (!swept.isEmpty()) {
            LOG.log(System.Logger.Level.INFO, "removed the working copies of " + swept.size()
                    + " data director" + (swept.size() == 1 ? "y" : "ies") + " that no longer exist: " + swept);
        }
        Path root = shm.resolve("thaw-" + Integer.toHexString(config.dataDir().toString().hashCode()));
        dev.thaw.node.snapshot.WorkingCopyRoots.mark(root, config.dataDir());
        return root;
    }

    private Function newFunction(Deployment d) {
        Optional<String> disabled = !d.manifest().snapshots()
                ? Optional.of("snapshots are off in the function's manifest")
                : criu.isEmpty() ? Optional.of(criuStatus.reason())
                : snapshotsRefused != null ? Optional.of(snapshotsRefused)
                : d.manifest().runtime().equals("provided") && !sandboxed()
                ? Optional.of("a custom runtime is snapshotted only in a sandbox, where every clone reaches the Runtime"
                        + " API at the same address of its own (its environment cannot change after a restore)")
                : Optional.empty();
        Snapshot snapshot = Snapshot.forDeployment(d, repository.hotDir(d), disabled);
        RestoreMode mode = d.manifest().restoreMode() != null ? RestoreMode.parse(d.manifest().restoreMode())
                : config.restoreMode();
        FunctionLog log = log(d.name());
        FunctionInstances starter = new FunctionInstances(d, snapshot, mode, new FunctionInstances.Context(log, metrics,
                launcher, repository, criu, scheduler, instances, RuntimeListeners.loopback(), sandboxes, shared, xdt,
                egress, calls, foreground::invocationsInFlight, config.warmSnapshotAfter()));
        var m = d.manifest();
        FunctionPool pool = new FunctionPool(new FunctionPool.Settings(d.name(), d.version(), m.maxInstances(),
                m.timeoutMs(), m.memoryMb(), config.queueLimit(), config.maxStarting()), starter, ticker, scheduler,
                observer(d.name(), d.version(), log));
        return new Function(d, pool, starter);
    }

    /** @return whether instances run in sandboxes of their own (each with its own network namespace) */
    private boolean sandboxed() {
        return sandboxes.isPresent();
    }

    /**
     * Opens the instances' sandboxes (docs/DESIGN.md, "Instances are tenants"): sweeps what a node
     * killed on this data directory left behind and says so, and makes sure lazy and REAP restores
     * can work in a sandbox (a restored task in a user namespace opens its userfaultfd as an
     * unprivileged user; the sandbox's seccomp filter keeps functions themselves from it). Without
     * root or the kernel's support, instances run without a sandbox and the node says why.
     */
    private void openSandboxes() {
        if (!config.sandbox()) {
            sandboxStatus = "off (thaw up --no-sandbox): instances run as root in the node's namespaces";
            LOG.log(System.Logger.Level.WARNING, "instances run without a sandbox: " + sandboxStatus);
            return;
        }
        SandboxConfig sc = SandboxConfig.builder(config.dataDir()).runtimeDir(config.dataDir().resolve("runtime"))
                .javaHome(config.javaHome()).build();
        SandboxStatus status = Sandboxes.probe(sc);
        if (!status.available()) {
            sandboxStatus = "unavailable (" + status.reason() + "): instances run without a sandbox";
            LOG.log(System.Logger.Level.WARNING, sandboxStatus);
            return;
        }
        Sandboxes opened = Sandboxes.open(sc);
        sandboxes = Optional.of(opened);
        sandboxStatus = "on: " + opened.status().enforcement();
        if (!opened.swept().isEmpty()) {
            cleanedAtStart = opened.swept().toString();
            LOG.log(System.Logger.Level.INFO, "cleaned what a node that stopped without closing left on this data"
                    + " directory: " + cleanedAtStart);
        }
        allowUnprivilegedUserfaultfd();
    }

    /**
     * Egress (docs/DESIGN.md, "Instances"): with patterns, each sandboxed instance gets a proxy in its
     * own network namespace that reaches what they allow; without, nothing, and no proxy listens.
     * Instances without a sandbox share the host's network, where the patterns cannot apply.
     */
    private void configureEgress() {
        List<String> patterns = config.egressAllow();
        String shared = "instances run without a sandbox and share the host's network; egress rules apply only to"
                + " sandboxed instances";
        if (!sandboxed()) {
            egressStatus = patterns.isEmpty() ? "not enforced: " + shared
                    : "--egress-allow not applied: " + shared;
            if (!patterns.isEmpty()) {
                LOG.log(System.Logger.Level.WARNING, egressStatus);
            }
        } else if (patterns.isEmpty()) {
            egressStatus = "off: sandboxed instances reach nothing outside (thaw up --egress-allow PATTERN allows some)";
        } else {
            egress = Optional.of(dev.thaw.egress.EgressPolicy.allow(patterns));
            egressStatus = "sandboxed instances reach " + String.join(", ", patterns) + " through a proxy at 127.0.0.1:"
                    + FunctionInstances.EGRESS_PROXY_PORT + " in their own namespace (HTTP_PROXY, -Dhttp.proxyHost);"
                    + " loopback, link-local, metadata and this host's addresses only when listed as an exact ip:port";
        }
    }

    private void allowUnprivilegedUserfaultfd() {
        Path sysctl = Path.of("/proc/sys/vm/unprivileged_userfaultfd");
        try {
            if (Files.exists(sysctl) && Files.readString(sysctl).strip().equals("0")) {
                Files.writeString(sysctl, "1");
                LOG.log(System.Logger.Level.INFO, "set vm.unprivileged_userfaultfd=1: lazy and REAP restores of"
                        + " sandboxed instances need it (functions cannot use userfaultfd: the sandbox denies it)");
            }
        } catch (IOException e) {
            sandboxStatus += "; vm.unprivileged_userfaultfd could not be set (" + e.getMessage()
                    + "): lazy and REAP restores of sandboxed instances will fail and boot instead";
            LOG.log(System.Logger.Level.WARNING, sandboxStatus);
        }
    }

    /** Where a pool's lines and figures go: the function's log and the node's metrics. */
    private PoolObserver observer(String name, long version, FunctionLog log) {
        return new PoolObserver() {
            @Override
            public void log(String line) {
                log.append(line);
            }

            @Override
            public void invocation(String code, StartKind start, double seconds) {
                metrics.invocation(name, code, start, seconds);
                if (ahead != null) {
                    ahead.ended(name);
                }
            }

            @Override
            public void freshened(boolean completed, double seconds) {
                metrics.freshenDuration(name, seconds);
            }

            @Override
            public void coldStart(StartKind kind, double seconds) {
                metrics.coldStart(name, kind, seconds);
            }

            @Override
            public void counts(FunctionInfo.InstanceCounts c) {
                counts.computeIfAbsent(name, n -> new ConcurrentHashMap<>()).put(version, c);
                metrics.instances(name, countsOf(name));
            }
        };
    }

    /** @return the instance counts of every version of the function, summed (from what the pools last reported) */
    private FunctionInfo.InstanceCounts countsOf(String name) {
        int starting = 0;
        int idle = 0;
        int busy = 0;
        int queued = 0;
        for (FunctionInfo.InstanceCounts c : counts.getOrDefault(name, Map.of()).values()) {
            starting += c.starting();
            idle += c.idle();
            busy += c.busy();
            queued += c.queued();
        }
        return new FunctionInfo.InstanceCounts(starting, idle, busy, queued);
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

    /** @return the latest version's runtime */
    private Function function(String name) {
        return runtime(store.get(name).orElseThrow(() -> ThawException.functionNotFound(name)));
    }

    /** @return the version's runtime, made when it is first asked for */
    private Function runtime(Deployment d) {
        Map<Long, Function> versions = functions.computeIfAbsent(d.name(), n -> new ConcurrentHashMap<>());
        Function f = versions.get(d.version());
        if (f != null) {
            return f;
        }
        synchronized (versions) {
            if (retiring.contains(key(d))) {
                // resolved just before its retirement began: its pool is gone for good
                throw new ThawException(ErrorType.FunctionNotFound, "version " + d.version() + " of function '" + d.name()
                        + "' was just retired");
            }
            return versions.computeIfAbsent(d.version(), v -> newFunction(d));
        }
    }

    /**
     * @return the version {@code ref} names now: the latest for none or {@code $LATEST}, else the version
     *     number or the alias's target
     * @throws ThawException {@code FunctionNotFound} naming the function and the qualifier
     */
    private Deployment resolve(FunctionRef ref) {
        Deployment latest = latest(ref.name());
        if (ref.isLatest()) {
            return latest;
        }
        String q = ref.qualifier().orElseThrow();
        Optional<Long> number = ref.versionNumber();
        Optional<Long> version = number.isPresent() ? number : store.alias(ref.name(), q);
        if (version.isEmpty()) {
            throw new ThawException(ErrorType.FunctionNotFound, "function '" + ref.name() + "' has no version or alias '"
                    + q + "'" + aliasHint(ref.name()));
        }
        Optional<Deployment> d = store.version(ref.name(), version.get()).or(() -> fromCluster(ref.name(), version))
                .filter(v -> !retiring.contains(key(v)));
        if (d.isEmpty()) {
            throw new ThawException(ErrorType.FunctionNotFound, "function '" + ref.name() + "' has no version " + version.get()
                    + (number.isPresent() ? "" : " (alias '" + q + "' points to it)") + "; versions kept: "
                    + store.versions(ref.name()).stream().map(Deployment::version).toList());
        }
        return d.get();
    }

    /** @return the function's latest version, installed from the cluster's registry when this node lacks it */
    private Deployment latest(String name) {
        return store.get(name).or(() -> fromCluster(name, Optional.empty()))
                .orElseThrow(() -> ThawException.functionNotFound(name));
    }

    /**
     * In a cluster, a version this node has not installed yet (it was deployed through another node a
     * moment ago): installed now from the registry. Empty on a node on its own, or when the registry
     * has no such version.
     */
    private Optional<Deployment> fromCluster(String name, Optional<Long> version) {
        if (cluster.isEmpty()) {
            return Optional.empty();
        }
        var c = cluster.get();
        Optional<dev.thaw.cluster.FunctionVersion> v = version.isPresent() ? c.version(name, version.get())
                : c.current(name);
        return v.map(this::installFromCluster);
    }

    private String aliasHint(String name) {
        var aliases = store.aliases(name);
        return aliases.isEmpty() ? " (it has no aliases)" : " (aliases: " + String.join(", ", aliases.keySet()) + ")";
    }

    private static String key(Deployment d) {
        return d.name() + "@" + d.version();
    }

    private void checkOpen() {
        if (closing) {
            throw shuttingDown();
        }
    }

    private static ThawException shuttingDown() {
        return new ThawException(ErrorType.ServiceUnavailable, "the node is shutting down and accepts no new work");
    }

    /**
     * Retires the versions beyond the last {@link NodeConfig#versionsKept()} that no alias points to:
     * they stop being invocable now; their pool closes, what it runs finishes (or is stopped once its
     * timeout has passed), then their code and snapshot are deleted.
     */
    private void prune(String name) {
        for (Deployment d : store.prunable(name, config.versionsKept())) {
            if (!retiring.add(key(d))) {
                continue;
            }
            Map<Long, Function> versions = functions.getOrDefault(name, new ConcurrentHashMap<>());
            Function f;
            synchronized (versions) {
                f = versions.remove(d.version());
            }
            log(name).append("RETIRE version " + d.version() + " (only the last " + config.versionsKept()
                    + " versions and aliased ones are kept)");
            Thread.ofVirtual().name("thaw-retire-" + key(d)).start(() -> retire(d, f));
        }
    }

    private void retire(Deployment d, Function f) {
        try {
            if (f != null) {
                ThawException gone = new ThawException(ErrorType.FunctionNotFound, "version " + d.version()
                        + " of function '" + d.name() + "' was retired while the invocation waited");
                f.pool().close().forEach(inv -> inv.fail(gone));
                f.pool().awaitDrained(ticker.nanos() + Duration.ofMillis(d.manifest().timeoutMs()).plus(RETIRE_MARGIN).toNanos());
                f.pool().shutdown(gone);
                counts.getOrDefault(d.name(), new ConcurrentHashMap<>()).remove(d.version());
            }
            store.forget(d);
            repository.forget(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "version " + d.version() + " of '" + d.name() + "' not retired: " + e.getMessage());
        } finally {
            retiring.remove(key(d));
        }
    }

    // ---- NodeOperations ------------------------------------------------------------------------

    @Override
    public Map<String, Object> health() {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", closing ? "shutting down" : "ok");
        Map<String, Object> snapshots = new LinkedHashMap<>();
        snapshots.put("enabled", criu.isPresent());
        snapshots.put("reason", snapshotStatus());
        Map<String, Object> sandbox = new LinkedHashMap<>();
        sandbox.put("enabled", sandboxes.isPresent());
        sandbox.put("status", sandboxStatus);
        sandbox.put("egress", egressStatus);
        body.put("sandbox", sandbox);
        body.put("snapshots", snapshots);
        body.put("functions", functions.size());
        body.put("instances", instances.size());
        cluster.ifPresent(c -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("node", c.nodeId());
            m.put("etcd", c.connection().toString());
            m.put("members", c.memberRecords().size());
            body.put("cluster", m);
        });
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
        r.put("snapshot", snapshotInfo(f));
        r.put("workingCopy", f.instances().snapshot().imagesDir().toString());
        r.put("store", repository.stats(f.deployment()).orElse(null));
        r.put("publish", repository.publishing(f.deployment()).orElse(null));
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
        return store.list().stream().map(d -> snapshotReport(d.name())).toList();
    }

    @Override
    public boolean isDeployed(String name) {
        return store.get(name).isPresent();
    }

    @Override
    public FunctionInfo deploy(FunctionManifest requested, byte[] code) {
        checkOpen();
        FunctionManifest manifest = requested == null ? null : config.scalingDefaults().fill(requested);
        if (cluster.isPresent()) {
            return deployToCluster(manifest, code);
        }
        synchronized (this) {
            Deployment d = store.deploy(manifest, code);
            return info(snapshotAhead(activate(d, "DEPLOY version " + d.version() + " handler " + d.manifest().handler())));
        }
    }

    /**
     * A deploy through this node of a cluster: the code is checked here, stored in the shared store
     * under its hash, then etcd numbers the version; this node installs it at once, the others when
     * they hear of it.
     */
    private FunctionInfo deployToCluster(FunctionManifest manifest, byte[] code) {
        dev.thaw.node.cluster.ClusterNode node = cluster.get();
        FunctionManifest checked = store.check(manifest, code);
        String sha = FunctionStore.sha256(code);
        String codeKey;
        try {
            codeKey = sharedObjects.orElseThrow(() -> new ThawException(ErrorType.ServiceUnavailable,
                    "this node cannot deploy to the cluster: it cannot write the shared store"
                            + (snapshotsRefused == null ? "" : " (" + snapshotsRefused + ")"))).putCode(sha, code);
        } catch (IOException | RuntimeException e) {
            if (e instanceof ThawException t) {
                throw t;
            }
            throw new ThawException(ErrorType.ServiceUnavailable, "the code of '" + manifest.name()
                    + "' could not be stored in the cluster's store: " + e.getMessage(), e);
        }
        dev.thaw.cluster.FunctionVersion v = node.deploy(checked.name(), new String(Json.write(checked),
                java.nio.charset.StandardCharsets.UTF_8), sha, code.length, codeKey);
        return info(snapshotAhead(installVersion(checked, code, v, " (cluster-wide, through this node)")));
    }

    /**
     * A deploy takes the version's snapshot at once, as SnapStart does when a version is published,
     * rather than on its first invocation: on the node that took the deploy only (in a cluster the
     * others restore what it publishes).
     */
    private Function snapshotAhead(Function f) {
        if (f.pool().snapshotAhead()) {
            log(f.deployment().name()).append("SNAPSHOT ahead of the first invocation: booting version "
                    + f.deployment().version() + " to take it");
        }
        return f;
    }

    /**
     * Installs a version the registry numbered and makes it the latest, once: the node that deploys
     * it and its own registry event may both get here, and only the first installs and logs it.
     */
    private synchronized Function installVersion(FunctionManifest manifest, byte[] code, dev.thaw.cluster.FunctionVersion v,
                                                 String how) {
        Optional<Deployment> here = store.version(v.name(), v.version());
        if (here.isPresent()) {
            return runtime(here.get());
        }
        Deployment d = store.install(manifest, code, v.version(), v.deployedAt());
        return activate(d, "DEPLOY version " + d.version() + " handler " + d.manifest().handler() + how);
    }

    /**
     * Makes a newly stored version the function's latest: its pool takes over the invocations waiting
     * on the previous latest that named no version, the previous one's idle instances stop, and
     * versions beyond those kept retire.
     */
    private Function activate(Deployment d, String logLine) {
        Optional<Function> previous = store.versions(d.name()).stream().filter(p -> p.version() < d.version())
                .reduce((a, b) -> b).map(p -> functions.getOrDefault(p.name(), Map.of()).get(p.version()));
        Function f = runtime(d);
        previous.ifPresent(old -> {
            // what named no version moves to the new latest; what named the old one stays on it
            for (Invocation inv : old.pool().takeQueued(Invocation::followsLatest)) {
                try {
                    f.pool().submit(inv);
                } catch (ThawException e) {
                    inv.fail(e);
                }
            }
            old.pool().retireIdle(Duration.ZERO); // its clones and idle instances: the new version restores its own
        });
        if (isLatestVersion(d)) {
            ahead.manage(d.name(), f.pool(), d.manifest());
        }
        log(d.name()).append(logLine);
        prune(d.name());
        return f;
    }

    @Override
    public long delete(String name) {
        checkOpen();
        Deployment latest = store.get(name).orElseThrow(() -> ThawException.functionNotFound(name));
        cluster.ifPresent(c -> c.delete(name));
        deleteHere(name);
        return latest.version();
    }

    /** Deletes the function on this node: its pools, versions, code and snapshots. */
    private synchronized void deleteHere(String name) {
        if (store.get(name).isEmpty()) {
            return;
        }
        Map<Long, Function> versions = functions.remove(name);
        counts.remove(name);
        ahead.forget(name);
        List<Deployment> all = store.versions(name);
        if (versions != null) {
            for (Function f : versions.values()) {
                f.pool().close().forEach(inv -> inv.fail(new ThawException(ErrorType.FunctionNotFound,
                        "function '" + name + "' was deleted while the invocation waited")));
            }
        }
        store.delete(name);
        all.forEach(repository::forget);
        sharedObjects.ifPresent(o -> all.forEach(o::deleteMeta));
    }

    @Override
    public Admission admit() {
        synchronized (admitted) {
            if (closing) {
                throw shuttingDown();
            }
            admitted[0]++;
        }
        return () -> {
            synchronized (admitted) {
                admitted[0]--;
                admitted.notifyAll();
            }
        };
    }

    @Override
    public long resolveVersion(FunctionRef ref) {
        return resolve(ref).version();
    }

    private Invocation counted(Invocation inv) {
        foreground.began();
        inv.result().whenComplete((r, t) -> foreground.ended());
        return inv;
    }

    @Override
    public Invocation invoke(FunctionRef ref, byte[] payload, boolean captureLog) {
        checkOpen();
        Deployment d = resolve(ref);
        // a front door that forwarded an Event's attempt names it: its request id stays the one the caller got
        String id = dev.thaw.node.api.Forwarded.requestId().orElseGet(() -> UUID.randomUUID().toString());
        Invocation inv = counted(runtime(d).pool().submit(new Invocation(id, payload, ref.isLatest(), captureLog)));
        ahead.invoked(d.name());
        return inv;
    }

    @Override
    public Optional<dev.thaw.node.placement.Forwarder.Answer> forwardInvocation(FunctionRef ref, String target,
            List<Map.Entry<String, String>> headers, byte[] payload) {
        if (cluster.isEmpty() || dev.thaw.node.api.Forwarded.isForwarded()) {
            return Optional.empty();
        }
        checkOpen();
        Deployment d = resolve(ref);
        Set<String> unreachable = new java.util.HashSet<>();
        while (true) {
            Optional<dev.thaw.node.placement.Placement.Remote> remote = place(d, unreachable);
            if (remote.isEmpty()) {
                return Optional.empty();
            }
            List<Map.Entry<String, String>> h = new ArrayList<>(headers);
            h.add(Map.entry(dev.thaw.node.api.Forwarded.HEADER, cluster.get().nodeId()));
            h.add(Map.entry(dev.thaw.node.api.Forwarded.VERSION_HEADER, Long.toString(d.version())));
            h.add(Map.entry("Authorization", "Bearer " + apiToken));
            dev.thaw.node.placement.Placement.Remote r = remote.get();
            try {
                var answer = forwarder.send(r.address(), "POST", target, h, payload);
                metrics.forwarded(d.name(), r.nodeId());
                return Optional.of(answer);
            } catch (dev.thaw.node.placement.Forwarder.NodeUnreachable e) {
                if (e.requestSent()) {
                    throw new ThawException(ErrorType.NodeLost, "node " + r.nodeId() + " (" + r.address() + "), where the"
                            + " invocation of '" + d.name() + "' was placed, was lost before it answered; the invocation"
                            + " may have run there: " + e.getMessage(), e);
                }
                LOG.log(System.Logger.Level.INFO, "cluster: node " + r.nodeId() + " cannot be reached, placing '"
                        + d.name() + "' elsewhere: " + e.getMessage());
                unreachable.add(r.nodeId());
            }
        }
    }

    /** @return where placement runs the version: empty for here, else the node, passing over {@code excluded} */
    private Optional<dev.thaw.node.placement.Placement.Remote> place(Deployment d, Set<String> excluded) {
        var c = cluster.get();
        dev.thaw.node.placement.ClusterView view = new dev.thaw.node.placement.ClusterView() {
            @Override
            public String selfId() {
                return c.selfId();
            }

            @Override
            public List<dev.thaw.node.placement.NodeState> members() {
                return c.members().stream().filter(n -> !excluded.contains(n.id())).toList();
            }
        };
        var target = new dev.thaw.node.placement.Placement(view).place(key(d), repository.snapshotId(d));
        return target instanceof dev.thaw.node.placement.Placement.Remote r ? Optional.of(r) : Optional.empty();
    }

    @Override
    public Optional<String> clusterNodeId() {
        return cluster.map(dev.thaw.node.cluster.ClusterNode::nodeId);
    }

    @Override
    public Map<String, Object> clusterNodes() {
        var c = cluster.orElseThrow(() -> ThawException.invalidRequest(
                "this node is not part of a cluster (start it with thaw up --cluster ETCD_ENDPOINTS)"));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("self", c.nodeId());
        body.put("etcd", c.connection().toString());
        List<Map<String, Object>> nodes = new ArrayList<>();
        for (dev.thaw.cluster.Member m : c.memberRecords()) {
            Map<String, Object> n = new LinkedHashMap<>();
            n.put("id", m.id());
            n.put("address", m.address().toString());
            n.put("state", m.state().name().toLowerCase(java.util.Locale.ROOT));
            n.put("load", m.load());
            n.put("capacity", m.capacity());
            n.put("memorySnapshots", m.memorySnapshots());
            n.put("diskSnapshots", m.diskSnapshots());
            n.put("idle", m.idle());
            n.put("booting", m.booting());
            n.put("startedAt", m.startedAt().toString());
            nodes.add(n);
        }
        body.put("nodes", nodes);
        return body;
    }

    @Override
    public String enqueue(FunctionRef ref, byte[] payload) {
        checkOpen();
        resolve(ref); // a function or qualifier that does not exist is refused now, not dead-lettered later
        try {
            return events.enqueue(ref.name(), ref.qualifier(), payload).requestId();
        } catch (IllegalStateException e) {
            throw shuttingDown();
        } catch (dev.thaw.node.event.LedgeredEventQueue.NotRecorded e) {
            throw new ThawException(ErrorType.ServiceUnavailable, "the event for function '" + ref.name()
                    + "' was not accepted: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new ThawException(ErrorType.InternalError, "the event for function '" + ref.name()
                    + "' could not be stored: " + e.getMessage(), e);
        }
    }

    /** One attempt of a queued event: submitted to the pool of the version its qualifier names now. */
    private java.util.concurrent.CompletionStage<EventWorker.Outcome> dispatch(QueuedEvent e) {
        if (closing) {
            return CompletableFuture.completedFuture(new EventWorker.Outcome.Abandoned("the node is shutting down"));
        }
        FunctionRef ref = new FunctionRef(e.function(), e.qualifier());
        Invocation inv;
        try {
            Deployment d = resolve(ref);
            if (cluster.isPresent()) {
                Optional<dev.thaw.node.placement.Placement.Remote> remote = place(d, Set.of());
                if (remote.isPresent()) {
                    return CompletableFuture.supplyAsync(() -> dispatchTo(remote.get(), d, e), eventForwards);
                }
            }
            inv = counted(runtime(d).pool().submit(new Invocation(e.requestId(), e.payload(), ref.isLatest(), false)));
            ahead.invoked(d.name());
        } catch (ThawException t) {
            return CompletableFuture.completedFuture(outcome(t, e, 0));
        }
        return inv.result().handle((r, t) -> t == null ? new EventWorker.Outcome.Success()
                : outcome(t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t,
                        e, inv.timeoutMs()));
    }

    /**
     * One attempt of a queued event, run on the node placement chose. The event stays in this node's
     * queue until that node answers: if it is lost meanwhile the attempt is retried (on whichever
     * node placement picks then), so an accepted event is not lost with another node.
     */
    private EventWorker.Outcome dispatchTo(dev.thaw.node.placement.Placement.Remote r, Deployment d, QueuedEvent e) {
        List<Map.Entry<String, String>> h = List.of(Map.entry("Content-Type", "application/json"),
                Map.entry(dev.thaw.node.api.Forwarded.HEADER, cluster.get().nodeId()),
                Map.entry(dev.thaw.node.api.Forwarded.VERSION_HEADER, Long.toString(d.version())),
                Map.entry(dev.thaw.node.api.Forwarded.REQUEST_ID_HEADER, e.requestId()),
                Map.entry("Authorization", "Bearer " + apiToken));
        try {
            var a = forwarder.send(r.address(), "POST", "/functions/" + d.name() + "/invoke", h, e.payload());
            metrics.forwarded(d.name(), r.nodeId());
            if (a.status() == 200) {
                return new EventWorker.Outcome.Success();
            }
            return outcome(dev.thaw.core.ErrorBody.parse(a.status(), a.body()), e, d.manifest().timeoutMs());
        } catch (dev.thaw.node.placement.Forwarder.NodeUnreachable ex) {
            return new EventWorker.Outcome.Refused("node " + r.nodeId() + " was lost while it had the event: "
                    + ex.getMessage());
        }
    }

    private EventWorker.Outcome outcome(Throwable t, QueuedEvent e, int timeoutMs) {
        if (!(t instanceof ThawException te)) {
            return new EventWorker.Outcome.Failure(t.getClass().getSimpleName() + ": " + t.getMessage());
        }
        Optional<LambdaErrors.FunctionFailure> failure = LambdaErrors.functionFailure(te, e.requestId(), timeoutMs);
        if (failure.isPresent()) {
            return new EventWorker.Outcome.Failure(failure.get().errorType() + ": " + failure.get().errorMessage());
        }
        return switch (te.type()) {
            case FunctionNotFound -> new EventWorker.Outcome.Gone(te.getMessage());
            case TooManyRequests, NodeLost -> new EventWorker.Outcome.Refused(te.getMessage());
            case ServiceUnavailable -> closing ? new EventWorker.Outcome.Abandoned(te.getMessage())
                    : new EventWorker.Outcome.Refused(te.getMessage());
            default -> new EventWorker.Outcome.Failure(te.type() + ": " + te.getMessage());
        };
    }

    /** Dead letters outlive their function (a deleted function's are still there to read), but a name never seen is not found. */
    @Override
    public List<DeadLetter> deadLetters(String name) {
        try {
            List<DeadLetter> letters = eventQueue.deadLetters(name);
            if (letters.isEmpty() && store.get(name).isEmpty()) {
                throw ThawException.functionNotFound(name);
            }
            return letters;
        } catch (IOException e) {
            throw new ThawException(ErrorType.InternalError, "cannot read the dead letters of '" + name + "': "
                    + e.getMessage(), e);
        }
    }

    @Override
    public int clearDeadLetters(String name) {
        try {
            int cleared = eventQueue.clearDeadLetters(name);
            if (cleared == 0 && store.get(name).isEmpty()) {
                throw ThawException.functionNotFound(name);
            }
            return cleared;
        } catch (IOException e) {
            throw new ThawException(ErrorType.InternalError, "cannot clear the dead letters of '" + name + "': "
                    + e.getMessage(), e);
        }
    }

    @Override
    public java.util.SortedMap<String, Long> aliases(String name) {
        store.get(name).orElseThrow(() -> ThawException.functionNotFound(name));
        return store.aliases(name);
    }

    @Override
    public Optional<Long> setAlias(String name, String alias, long version) {
        checkOpen();
        if (retiring.contains(name + "@" + version)) {
            throw new ThawException(ErrorType.FunctionNotFound, "version " + version + " of function '" + name
                    + "' is being retired");
        }
        if (cluster.isPresent()) {
            // etcd holds the alias; every node, this one included, mirrors it into its own store
            FunctionStore.checkAlias(alias);
            latest(name);
            Optional<Long> before = cluster.get().setAlias(name, alias, version);
            mirrorAlias(name, alias, version, " (cluster-wide, through this node)");
            return before;
        }
        return storeAlias(name, alias, version, "");
    }

    @Override
    public Optional<Long> deleteAlias(String name, String alias) {
        checkOpen();
        if (cluster.isPresent()) {
            latest(name);
            Optional<Long> before = cluster.get().deleteAlias(name, alias);
            unmirrorAlias(name, alias, " (cluster-wide, through this node)");
            return before;
        }
        store.get(name).orElseThrow(() -> ThawException.functionNotFound(name));
        return dropAlias(name, alias, "");
    }

    /** Sets the alias in this node's store, logs it ({@code how} says where it came from) and retires what it freed. */
    private synchronized Optional<Long> storeAlias(String name, String alias, long version, String how) {
        Optional<Long> before = store.setAlias(name, alias, version);
        log(name).append("ALIAS " + alias + " -> version " + version + before.map(b -> " (was " + b + ")").orElse("") + how);
        prune(name); // the version it pointed to may be one too many now
        return before;
    }

    /** Deletes the alias from this node's store, logs it and retires what it freed. */
    private synchronized Optional<Long> dropAlias(String name, String alias, String how) {
        Optional<Long> before = store.deleteAlias(name, alias);
        before.ifPresent(v -> {
            log(name).append("ALIAS " + alias + " deleted (pointed to version " + v + ")" + how);
            prune(name);
        });
        return before;
    }

    /**
     * An alias the cluster's registry holds, mirrored into this node's store so that it resolves here
     * and keeps its version from being retired; once, since the node that set it and its own registry
     * event may both get here. The version is installed first when this node does not have it.
     */
    private synchronized void mirrorAlias(String name, String alias, long version, String how) {
        if (store.get(name).isEmpty() || store.alias(name, alias).filter(v -> v == version).isPresent()) {
            return;
        }
        if (store.version(name, version).isEmpty() && fromCluster(name, Optional.of(version)).isEmpty()) {
            return; // deleted meanwhile: the registry's events say so next
        }
        storeAlias(name, alias, version, how);
    }

    /** An alias deleted in the cluster's registry, deleted from this node's store. */
    private synchronized void unmirrorAlias(String name, String alias, String how) {
        if (store.get(name).isPresent()) {
            dropAlias(name, alias, how);
        }
    }

    @Override
    public List<Map<String, Object>> versions(String name) {
        Deployment latest = store.get(name).orElseThrow(() -> ThawException.functionNotFound(name));
        var aliases = store.aliases(name);
        List<Map<String, Object>> out = new ArrayList<>();
        for (Deployment d : store.versions(name)) {
            if (retiring.contains(key(d))) {
                continue;
            }
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("version", d.version());
            v.put("latest", d.version() == latest.version());
            v.put("aliases", aliases.entrySet().stream().filter(a -> a.getValue() == d.version()).map(Map.Entry::getKey).toList());
            v.put("deployedAt", d.deployedAt().toString());
            v.put("handler", d.manifest().handler());
            v.put("codeSha256", d.codeSha256());
            Function f = functions.getOrDefault(name, Map.of()).get(d.version());
            v.put("snapshot", f == null ? null : snapshotInfo(f).state());
            out.add(v);
        }
        return out;
    }

    /**
     * In a cluster, sends every other live node the same request, marked forwarded so that each
     * answers for itself; an unreachable node is left out. Empty on a node on its own and for a
     * request that was itself forwarded.
     *
     * @return each node's answer, by node id
     */
    private Map<String, dev.thaw.node.placement.Forwarder.Answer> askOthers(String method, String target) {
        if (cluster.isEmpty() || dev.thaw.node.api.Forwarded.isForwarded()) {
            return Map.of();
        }
        var c = cluster.get();
        List<Map.Entry<String, String>> h = List.of(Map.entry(dev.thaw.node.api.Forwarded.HEADER, c.nodeId()),
                Map.entry("Authorization", "Bearer " + apiToken));
        Map<String, dev.thaw.node.placement.Forwarder.Answer> answers = new java.util.TreeMap<>();
        for (dev.thaw.node.placement.NodeState n : c.members()) {
            if (n.id().equals(c.nodeId())) {
                continue;
            }
            try {
                answers.put(n.id(), forwarder.send(n.address(), method, target, h, new byte[0]));
            } catch (dev.thaw.node.placement.Forwarder.NodeUnreachable e) {
                LOG.log(System.Logger.Level.INFO, "cluster: node " + n.id() + " did not answer " + method + " " + target
                        + ": " + e.getMessage());
            }
        }
        return answers;
    }

    @Override
    public Map<String, Object> onOtherNodes(String method, String target) {
        Map<String, Object> out = new java.util.TreeMap<>();
        askOthers(method, target).forEach((id, a) -> {
            com.fasterxml.jackson.databind.JsonNode body = readJson(a.body());
            if (a.status() == 200) {
                out.put(id, body);
            } else {
                Map<String, Object> refused = new LinkedHashMap<>();
                refused.put("status", a.status());
                refused.put("error", body.isEmpty() && a.body().length > 0
                        ? new String(a.body(), java.nio.charset.StandardCharsets.UTF_8) : body);
                out.put(id, refused);
            }
        });
        return out;
    }

    private static String path(String name) {
        return "/functions/" + java.net.URLEncoder.encode(name, java.nio.charset.StandardCharsets.UTF_8);
    }

    @Override
    public int evict(String name) throws InterruptedException {
        function(name);
        int evicted = 0;
        for (var a : askOthers("DELETE", path(name) + "/instances").values()) {
            if (a.status() == 200) {
                evicted += readJson(a.body()).path("evicted").asInt();
            }
        }
        ahead.evicting(name);
        for (Function f : List.copyOf(functions.getOrDefault(name, Map.of()).values())) {
            evicted += f.pool().evictIdle();
        }
        ahead.evicted(name); // its prewarm level is refilled at once
        return evicted;
    }

    /**
     * The function's log; in a cluster, every node's, merged in time order, each line marked with the
     * node that wrote it.
     */
    @Override
    public List<String> logs(String name, int tail) {
        function(name);
        List<String> own = log(name).tail(tail);
        Map<String, dev.thaw.node.placement.Forwarder.Answer> others = askOthers("GET", path(name) + "/logs?tail=" + tail);
        if (cluster.isEmpty() || dev.thaw.node.api.Forwarded.isForwarded()) {
            return own;
        }
        List<String[]> lines = new ArrayList<>();
        own.forEach(l -> lines.add(new String[] {l, cluster.get().nodeId()}));
        others.forEach((id, a) -> {
            if (a.status() == 200) {
                new String(a.body(), java.nio.charset.StandardCharsets.UTF_8).lines().forEach(l -> lines.add(new String[] {l, id}));
            }
        });
        lines.sort(java.util.Comparator.comparing(l -> timeOf(l[0])));
        return lines.stream().skip(Math.max(0, lines.size() - tail)).map(ThawNode::markNode).toList();
    }

    /** @return the line's leading ISO-8601 time, or the epoch for a line without one (they sort first) */
    private static java.time.Instant timeOf(String line) {
        int space = line.indexOf(' ');
        try {
            return java.time.Instant.parse(space > 0 ? line.substring(0, space) : line);
        } catch (java.time.format.DateTimeParseException e) {
            return java.time.Instant.EPOCH;
        }
    }

    /** @return the line with {@code [node]} after its time */
    private static String markNode(String[] l) {
        int space = l[0].indexOf(' ');
        return space > 0 ? l[0].substring(0, space) + " [" + l[1] + "]" + l[0].substring(space) : "[" + l[1] + "] " + l[0];
    }

    @Override
    public FunctionInfo describe(String name) {
        FunctionInfo own = info(function(name));
        if (cluster.isEmpty() || dev.thaw.node.api.Forwarded.isForwarded()) {
            return own;
        }
        Map<String, FunctionInfo.InstanceCounts> perNode = new java.util.TreeMap<>();
        perNode.put(cluster.get().nodeId(), own.instances());
        askOthers("GET", path(name)).forEach((id, a) -> {
            if (a.status() == 200) {
                try {
                    perNode.put(id, Json.mapper().readValue(a.body(), FunctionInfo.class).instances());
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.DEBUG, "cluster: node " + id + " described '" + name + "' unreadably");
                }
            }
        });
        return own.withNodes(perNode);
    }

    private static com.fasterxml.jackson.databind.JsonNode readJson(byte[] body) {
        try {
            return Json.mapper().readTree(body);
        } catch (IOException e) {
            return Json.mapper().createObjectNode();
        }
    }

    @Override
    public List<FunctionInfo> describeAll() {
        return store.list().stream().map(d -> info(runtime(d))).toList();
    }

    /** What the node says about a function: its latest version, with the instances of all its versions. */
    private FunctionInfo info(Function f) {
        Deployment d = f.deployment();
        FunctionManifest m = d.manifest();
        return new FunctionInfo(d.name(), d.version(), m.handler(), m.runtime(), m.memoryMb(), m.timeoutMs(),
                List.copyOf(new TreeSet<>(m.environment().keySet())), m.maxInstances(), m.snapshots(),
                d.codeSha256(), d.codeSizeBytes(), d.deployedAt().toString(), snapshotInfo(f),
                countsOrPool(f), f.instances().restoreMode().wireName(),
                m.priming() == null ? null : m.priming().rounds())
                .withScaling(ahead == null ? null : ahead.describe(d.name()).orElse(null));
    }

    /**
     * The version's snapshot as this node knows it; in a cluster, one that another node took and
     * this node has not restored yet (it adopts it at its first cold start of the version) is
     * reported ready too, with where it was taken, rather than as none.
     */
    private FunctionInfo.SnapshotInfo snapshotInfo(Function f) {
        FunctionInfo.SnapshotInfo own = f.instances().snapshot().info()
                .withWarming(f.instances().warmingPlan().orElse(null));
        var c = cluster;
        if (c.isEmpty() || f.instances().snapshot().state() != dev.thaw.node.snapshot.Snapshot.State.NONE
                || !f.deployment().manifest().snapshots()) {
            return own;
        }
        Deployment d = f.deployment();
        return c.get().publishedSnapshot(d.name(), d.version())
                .map(e -> new FunctionInfo.SnapshotInfo("ready", "taken by node '" + e.takenBy() + "' of the cluster; this"
                        + " node restores it at its first cold start of this version", e.sizeBytes(), null,
                        e.takenAt().toString(), own.restores(), own.restoreFailures(),
                        dev.thaw.node.cluster.ClusterNode.warmedAfter(e)))
                .orElse(own);
    }

    private FunctionInfo.InstanceCounts countsOrPool(Function f) {
        Map<Long, FunctionInfo.InstanceCounts> reported = counts.get(f.deployment().name());
        return reported == null || reported.isEmpty() ? f.pool().counts() : countsOf(f.deployment().name());
    }

    /**
     * Drains the node (see the comment at the top): refuses new work, lets what was accepted finish
     * within the grace period while the public listener still answers, then answers what is left with
     * an error and waits (briefly) until those answers are sent.
     */
    private void drain() throws InterruptedException {
        synchronized (admitted) {
            closing = true;
        }
        events.stop(); // no new attempts; those running finish or stay queued for the next start
        cluster.ifPresent(dev.thaw.node.cluster.ClusterNode::drain); // placement stops sending work here
        ahead.stop(); // nothing more is started ahead of demand
        LOG.log(System.Logger.Level.INFO, "shutting down: new work is refused; accepted invocations have up to "
                + config.drainGrace().toSeconds() + " s to finish");
        long deadline = ticker.nanos() + config.drainGrace().toNanos();
        boolean drained = all().allMatch(f -> {
            try {
                return f.pool().awaitDrained(deadline);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }) && awaitAdmitted(deadline);
        if (!drained) {
            LOG.log(System.Logger.Level.WARNING, "the drain grace of " + config.drainGrace().toSeconds()
                    + " s ended with invocations still running; they are answered with an error");
        }
        String why = "the node shut down before the invocation finished (it had " + config.drainGrace().toSeconds()
                + " s to drain)";
        ThawException notStarted = new ThawException(ErrorType.ServiceUnavailable,
                "the node shut down before the invocation started (it had " + config.drainGrace().toSeconds() + " s to drain)");
        all().forEach(f -> {
            f.pool().close().forEach(inv -> inv.fail(notStarted));
            f.pool().failRunning(new ThawException(ErrorType.ServiceUnavailable, why));
        });
        awaitAdmitted(ticker.nanos() + ANSWER_WAIT.toNanos());
    }

    /** @return whether every admitted request was answered before {@code deadlineNanos} */
    private boolean awaitAdmitted(long deadlineNanos) throws InterruptedException {
        synchronized (admitted) {
            while (admitted[0] > 0) {
                long left = deadlineNanos - ticker.nanos();
                if (left <= 0) {
                    return false;
                }
                admitted.wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }

    // ---- Node ----------------------------------------------------------------------------------

    @Override
    public int port() {
        return publicServer.port();
    }

    @Override
    public String cleanedAtStart() {
        return cleanedAtStart;
    }

    @Override
    public String sandboxStatus() {
        return sandboxStatus;
    }

    @Override
    public String egressStatus() {
        return egressStatus;
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
        String status = storeProblem == null ? criuStatus.reason() : criuStatus.reason() + "; " + storeProblem;
        return snapshotsRefused == null ? status : "snapshots are refused: " + snapshotsRefused;
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
        try {
            drain();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        publicServer.stop();
        all().forEach(f -> {
            try {
                f.pool().shutdown(new ThawException(ErrorType.ServiceUnavailable, "the node is shutting down"));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        xdt.close();
        cluster.ifPresent(dev.thaw.node.cluster.ClusterNode::close); // leaves: the others see this node go at once
        forwarder.close();
        eventForwards.shutdown();
        repository.close();
        sandboxes.ifPresent(Sandboxes::close);
        timers.shutdownNow();
        eventThread.shutdown();
        logs.values().forEach(FunctionLog::close);
        FileTrees.deleteQuietly(launcher.workRoot());
        closed.countDown();
    }
}
