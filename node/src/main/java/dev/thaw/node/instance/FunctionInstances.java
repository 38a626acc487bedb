package dev.thaw.node.instance;

import dev.thaw.core.ErrorType;
import dev.thaw.core.FunctionErrorException;
import dev.thaw.core.RestoreMode;
import dev.thaw.core.StartKind;
import dev.thaw.core.ThawException;
import dev.thaw.criu.Criu;
import dev.thaw.criu.CriuLogs;
import dev.thaw.egress.EgressPolicy;
import dev.thaw.egress.EgressProxy;
import dev.thaw.lazy.LazyMarks;
import dev.thaw.lazy.PageSource;
import dev.thaw.lazy.PrivateFileCopies;
import dev.thaw.node.function.Deployment;
import dev.thaw.node.function.FunctionLog;
import dev.thaw.node.metrics.NodeMetrics;
import dev.thaw.node.pool.Exit;
import dev.thaw.node.pool.InstanceEvents;
import dev.thaw.node.pool.InstanceStarter;
import dev.thaw.node.pool.PoolInstance;
import dev.thaw.node.pool.Scheduler;
import dev.thaw.node.snapshot.LazyRestore;
import dev.thaw.node.snapshot.RestoreReport;
import dev.thaw.node.snapshot.Snapshot;
import dev.thaw.node.snapshot.SnapshotRepository;
import dev.thaw.node.snapshot.StorePageSource;
import dev.thaw.protocol.RuntimeProtocol.Control;
import dev.thaw.sandbox.InstanceSandbox;
import dev.thaw.sandbox.InstanceSpec;
import dev.thaw.sandbox.Sandboxes;
import java.io.IOException;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/*
 * How one deployment's instances start: the pool decides when, this decides how.
 *
 * With a READY snapshot every start restores a clone (eager, lazy or REAP, from the working copy or
 * from the store). Without one, the first start boots and asks the runtime to stop for a checkpoint
 * after its init; the snapshot is PENDING meanwhile and mayStart() holds further starts back until
 * the dump is done (one boot then restores beats many boots on a small machine). A restore that
 * fails is recorded and replaced by a boot, which takes a fresh snapshot: a damaged image heals
 * itself at the cost of one boot. A page source that cannot serve a page kills its clone, whose
 * invocation is retried by a boot. Once an instance has served enough invocations, WarmSnapshot
 * replaces the snapshot with one of it; every restore holds the images' read lock meanwhile.
 *
 * This is also the instance's Lifecycle listener: it reads the function's log lines and the
 * runtime's control lines (checkpoint-ready, checkpoint-abort), runs the dump, and, when an
 * instance exits, turns the raw exit into an Exit that tells the pool what became of the
 * invocation it held or the one that waited for it.
 */
/** Starts a deployment's instances by restoring or booting them (see the comment above). */
public final class FunctionInstances implements InstanceStarter, Instance.Lifecycle {
    private static final System.Logger LOG = System.getLogger("thaw.node");
    private static final Duration INIT_TIMEOUT = Duration.ofMinutes(2);
    private static final Duration RESTORE_TIMEOUT = Duration.ofSeconds(30);
    /** Longest a restored instance waits for its working set before it runs anyway (faults are then served on demand). */
    private static final Duration PREFETCH_WAIT = Duration.ofSeconds(3);
    /** Longest an eager restore streamed from the store waits for the whole image (an S3-only fetch of a large one). */
    private static final Duration STREAM_WAIT = Duration.ofSeconds(20);
    /** Longest the node waits for thaw's runtime's control line to be read once its first next arrived. */
    private static final Duration CONTROL_LINE_WAIT = Duration.ofSeconds(2);

    /**
     * What the starter needs from the node.
     *
     * @param egress the allow list of the egress proxy each sandboxed instance gets; empty when egress is off
     *     (no pattern) or instances run without a sandbox
     * @param calls the node's invoke API for the functions' own code (THAW_NODE_URL)
     * @param nodeBusy whether the node has invocations running or waiting, of any function
     * @param warmSnapshotAfter the node's setting: invocations one instance serves before the snapshot is
     *     replaced by one of it ({@link WarmSnapshot}), unless the function's manifest sets its own; 0: never,
     *     for any function
     */
    public record Context(FunctionLog log, NodeMetrics metrics, InstanceLauncher launcher, SnapshotRepository repository,
                          Optional<Criu> criu, Scheduler scheduler, Map<String, Instance> registry,
                          RuntimeListeners listeners, Optional<Sandboxes> sandboxes, SharedSnapshots shared,
                          dev.thaw.node.xdt.XdtService xdt, Optional<EgressPolicy> egress, FunctionCalls calls,
                          java.util.function.BooleanSupplier nodeBusy, int warmSnapshotAfter) {
    }

    /** The port an instance's Runtime API listens on inside its own network namespace. */
    static final int RUNTIME_API_PORT = 9001;
    /** The port of an instance's egress proxy inside its own network namespace, when egress is allowed. */
    public static final int EGRESS_PROXY_PORT = 9002;

    private final Deployment deployment;
    private final Snapshot snapshot;
    private final Context ctx;
    private final RestoreMode restoreMode;
    private final String controlToken;
    /** The function's priming invocations before its checkpoint; null when it is not primed. */
    private final PrimingRounds priming;
    /** Why an instance is being stopped, recorded before it is killed and read when it has exited. */
    private final Map<Instance, String> stopReasons = new ConcurrentHashMap<>();
    /** The init error a runtime reported ({@code init/error}) before exiting. */
    private final Map<Instance, FunctionErrorException> initErrors = new ConcurrentHashMap<>();
    /** Instances killed because their page source failed: their invocation is retried. */
    private final Set<Instance> pageSourceFailures = ConcurrentHashMap.newKeySet();
    /** Instances stopped because a priming invocation overran: the invocation that waited is served by a boot. */
    private final Set<Instance> primingOverruns = ConcurrentHashMap.newKeySet();
    /** A sandbox made ahead for the next restore; null without sandboxes or CRIU. */
    private final SpareSandbox<SpareSandbox.Prepared> spare;
    /** The version's instances that have not exited. */
    private final Set<Instance> live = ConcurrentHashMap.newKeySet();
    /** Read-held by every restore while it reads the snapshot's images; write-held by the warmed snapshot's swap. */
    private final java.util.concurrent.locks.ReadWriteLock imagesLock = new java.util.concurrent.locks.ReentrantReadWriteLock();
    private final WarmSnapshot warm;

    public FunctionInstances(Deployment deployment, Snapshot snapshot, RestoreMode restoreMode, Context ctx) {
        this.deployment = deployment;
        this.snapshot = snapshot;
        this.restoreMode = restoreMode;
        this.ctx = ctx;
        String token = snapshot.controlToken();
        this.controlToken = token != null ? token : "THAW-" + UUID.randomUUID();
        var primed = deployment.manifest().priming();
        this.priming = primed == null ? null
                : new PrimingRounds(primed, deployment.manifest().timeoutMs(), ctx.scheduler(), this::primingOverran);
        this.spare = ctx.sandboxes().isPresent() && ctx.criu().isPresent() ? new SpareSandbox<>(() -> makeSandbox(newInstanceId(), true),
                SpareSandbox.Prepared::close, ctx.scheduler())
                : null;
        this.warm = new WarmSnapshot(deployment, snapshot, ctx, live, imagesLock, this::dumpForClones);
        ctx.repository().generation(deployment, snapshot.warmedAfter()); // a warmed one, when loaded from before
    }

    /** @return when the snapshot taken after init is to be replaced by a warmed one, or why never; empty once it was */
    public Optional<String> warmingPlan() {
        return warm.plan();
    }

    /**
     * Replaces the snapshot with one of an instance that has served invocations, when one qualifies
     * ({@link WarmSnapshot}). Called on the node's periodic tick.
     */
    public void considerWarmSnapshot(dev.thaw.node.pool.FunctionPool pool) {
        warm.consider(pool);
    }

    /**
     * A node killed before it stored a snapshot it took left the snapshot's working copy, which
     * outlives the process on tmpfs, and nothing else: without a stored copy it would be lost with
     * the next clearing of tmpfs. Stores it now, as any publish of a single node (held for a quiet
     * node). A cheap check when there is nothing to do: a node that stopped cleanly removed its
     * working copies.
     */
    public void storeWhatAKilledNodeLeft() {
        if (snapshot.state() == Snapshot.State.READY && Files.isDirectory(snapshot.imagesDir())
                && ctx.repository().hasStore() && !ctx.repository().isStored(deployment)) {
            ctx.log().append("SNAPSHOT found in its working copy only (the node stopped before it stored it): storing it");
            ctx.repository().publish(deployment, snapshot.imagesDir(), ctx.log(), () -> false);
        }
    }

    /**
     * @param park whether to park a restore launcher in it (a spare, made ahead of the restore that
     *     takes it; a sandbox made on a start's path spawns its launcher when it needs one)
     * @return a sandbox for instance {@code id} with the Runtime API's listener open in its namespace
     */
    private SpareSandbox.Prepared makeSandbox(String id, boolean park) {
        InstanceSandbox box = ctx.sandboxes().get().create(new InstanceSpec(id, deployment.name(),
                deployment.manifest().memoryMb(), deployment.codeDir()));
        try {
            ServerSocketChannel listener = box.openListener(RUNTIME_API_PORT);
            ParkedLaunch parked = park ? ParkedLaunch.park(box, ctx.launcher().workDir(id),
                    ctx.criu().map(Criu::programStartableAhead).orElse(java.util.List.of())) : null;
            return new SpareSandbox.Prepared(id, box, listener, parked);
        } catch (IOException e) {
            box.close(); // with the listeners it opened
            throw new java.io.UncheckedIOException("cannot park a restore launcher for instance " + id + ": "
                    + e.getMessage(), e);
        } catch (RuntimeException e) {
            box.close();
            throw e;
        }
    }

    private static String newInstanceId() {
        return UUID.randomUUID().toString().substring(0, 13).replace("-", "");
    }

    /** The version's pool closed: its spare sandbox goes (instances close their own). */
    @Override
    public void close() {
        warm.close();
        if (spare != null) {
            spare.close();
        }
    }

    public Snapshot snapshot() {
        return snapshot;
    }

    public RestoreMode restoreMode() {
        return restoreMode;
    }

    public Deployment deployment() {
        return deployment;
    }

    // ---- InstanceStarter -----------------------------------------------------------------------

    @Override
    public boolean mayStart() {
        return snapshot.state() != Snapshot.State.PENDING;
    }

    /** Clones are restored ahead of demand only from a snapshot this node can restore now. */
    @Override
    public boolean restoresAhead() {
        return snapshot.state() == Snapshot.State.READY && unfitSnapshot().isEmpty();
    }

    @Override
    public boolean warmUpMayRunLong(Instance instance) {
        return !instance.events().awaited() && !ctx.nodeBusy().getAsBoolean();
    }

    @Override
    public boolean snapshotsAhead() {
        return snapshot.state() == Snapshot.State.NONE && deployment.manifest().snapshots() && ctx.criu().isPresent();
    }

    @Override
    public PoolInstance start(InstanceEvents events) {
        return start(events, false);
    }

    @Override
    public PoolInstance start(InstanceEvents events, boolean clone) {
        String secret = newSecret();
        Optional<String> unfit = snapshot.state() == Snapshot.State.READY ? unfitSnapshot() : Optional.empty();
        if (unfit.isPresent() && snapshot.discard(unfit.get())) {
            ctx.log().append("SNAPSHOT_DISCARDED " + unfit.get() + "; the next start boots and takes a new one");
            ctx.repository().forget(deployment);
        }
        boolean restore = snapshot.state() == Snapshot.State.READY;
        boolean checkpoint = !restore && deployment.manifest().snapshots() && ctx.criu().isPresent()
                && snapshot.beginCheckpoint(controlToken, secret);
        Optional<SpareSandbox.Prepared> made = restore && spare != null ? spare.take() : Optional.empty();
        String id = made.map(SpareSandbox.Prepared::id).orElseGet(FunctionInstances::newInstanceId);
        Instance instance = new Instance(id, deployment, restore ? StartKind.RESTORE : StartKind.BOOT, events, this);
        instance.spare = made.orElse(null);
        instance.lifecycleFirstAnswer = () -> firstInvocationAnswered(instance);
        instance.checkpointRequested = checkpoint;
        instance.rehearse = clone;
        ctx.registry().put(id, instance);
        live.add(instance);
        Duration limit = restore ? RESTORE_TIMEOUT : INIT_TIMEOUT;
        ctx.scheduler().schedule(() -> watchdog(instance, limit), limit);
        Thread.ofPlatform().daemon().name("thaw-start-" + id).start(() -> {
            boolean restoring = restore;
            boolean checkpointing = checkpoint;
            if (checkpoint) {
                switch (shareDecision()) {
                    case RESTORE -> {
                        restoring = true;
                        checkpointing = false;
                        instance.kind = StartKind.RESTORE;
                        instance.checkpointRequested = false;
                    }
                    case BOOT -> {
                        checkpointing = false;
                        instance.checkpointRequested = false;
                    }
                    case CHECKPOINT -> {
                    }
                }
            }
            start(instance, secret, restoring, checkpointing);
        });
        return instance;
    }

    /**
     * Asks the cluster (when there is one) whether this node takes the snapshot its boot was to take,
     * restores the one another node published, or boots without one; single nodes always take it.
     */
    private SharedSnapshots.Decision shareDecision() {
        try {
            SharedSnapshots.Decision d = ctx.shared().beforeCheckpoint(deployment, snapshot);
            Optional<String> unfit = d == SharedSnapshots.Decision.RESTORE ? unfitSnapshot() : Optional.empty();
            if (unfit.isPresent()) {
                // another node runs otherwise (its egress setting): its snapshot stays the cluster's, this node boots
                snapshot.discard(unfit.get());
                ctx.log().append("SNAPSHOT of the cluster not used here: " + unfit.get() + "; this start boots");
                return SharedSnapshots.Decision.BOOT;
            }
            switch (d) {
                case RESTORE -> {
                    ctx.repository().generation(deployment, snapshot.warmedAfter());
                    ctx.log().append("SNAPSHOT shared: restoring the one another node of the cluster took" + (snapshot.warmedAfter() > 0
                            ? " (warmed, of an instance that had served " + snapshot.warmedAfter() + " invocations)" : ""));
                }
                case BOOT -> {
                    snapshot.abandonCheckpoint();
                    ctx.log().append("SNAPSHOT left to another node of the cluster, which is taking it; this start boots");
                }
                case CHECKPOINT -> {
                }
            }
            return d;
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, deployment.name() + ": the cluster's snapshot catalog did not answer ("
                    + e.getMessage() + "); taking the snapshot here");
            return SharedSnapshots.Decision.CHECKPOINT;
        }
    }

    private void start(Instance instance, String secret, boolean restore, boolean checkpoint) {
        // a clone speaks with the token of the instance its snapshot was taken of (maybe on another node)
        instance.controlToken = restore ? snapshot.controlToken() : controlToken;
        if (restore) {
            // the scratch seeded and the images read are of one snapshot, not replaced halfway (WarmSnapshot)
            imagesLock.readLock().lock();
        }
        try {
            try {
                listen(instance, secret, restore);
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "cannot open the Runtime API of " + instance + ": " + e.getMessage());
                stopReasons.put(instance, "cannot open the instance's Runtime API: " + e.getMessage());
                if (checkpoint) {
                    checkpointFailed("the instance that was to be checkpointed did not start: " + e.getMessage());
                }
                onExit(instance, -1);
                return;
            }
            launch(instance, restore, checkpoint);
        } finally {
            if (restore) {
                imagesLock.readLock().unlock();
            }
        }
    }

    /** A checkpoint this node was to take failed: the snapshot records why, and the cluster may let another node try. */
    private void checkpointFailed(String why) {
        snapshot.failed(why);
        ctx.shared().notTaken(deployment, why);
    }

    /** A restore failed: the snapshot is discarded here, and from the cluster's catalog, so a boot takes a new one. */
    private boolean discard(String why) {
        String id = ctx.repository().snapshotId(deployment);
        if (!snapshot.discard(why)) {
            return false;
        }
        ctx.shared().discarded(deployment, id, why);
        return true;
    }

    /**
     * @return why the READY snapshot cannot be restored on this node as it runs now: a clone lands where
     *     its original ran (a sandboxed image needs a sandbox, a plain one the host), and its environment,
     *     which names the egress proxy or not, cannot change
     */
    private Optional<String> unfitSnapshot() {
        boolean sandboxed = ctx.sandboxes().isPresent();
        if (snapshot.sandboxed() != sandboxed) {
            return Optional.of(snapshot.sandboxed() ? "it was taken in a sandbox and this node runs instances without one"
                    : "it was taken without a sandbox and this node runs instances in one");
        }
        boolean proxy = sandboxed && ctx.egress().isPresent();
        if (snapshot.egressProxy() != proxy) {
            return Optional.of(proxy ? "it was taken without the egress proxy in its environment and this node now allows"
                    + " egress (thaw up --egress-allow)" : "it was taken with the egress proxy in its environment and this"
                    + " node allows no egress now");
        }
        return Optional.empty();
    }

    /**
     * Makes the instance's sandbox, when the node runs instances in sandboxes, and opens the
     * instance's own Runtime API listener (inside the sandbox's network namespace), and its egress
     * proxy's when egress is allowed; a clone gets both anew on the ports its image expects, in its
     * own namespace (the listeners are the node's, not part of the image), and its Runtime API also
     * accepts the secret its snapshot was taken with.
     */
    private void listen(Instance instance, String secret, boolean restore) throws IOException {
        RuntimeListeners.Listener l;
        if (ctx.sandboxes().isPresent()) {
            SpareSandbox.Prepared made = instance.spare != null ? instance.spare : makeSandbox(instance.id, false);
            InstanceSandbox box = made.box();
            instance.sandbox = box;
            l = new RuntimeListeners.Listener(made.listener(), "127.0.0.1:" + RUNTIME_API_PORT);
            if (ctx.egress().isPresent()) {
                instance.egress = EgressProxy.serve(box.openListener(EGRESS_PROXY_PORT), ctx.egress().get(),
                        EgressProxy.Settings.of(deployment.name()), egressObserver());
            }
            if (restore && Files.isDirectory(snapshot.scratchDir())) {
                box.seedScratch(snapshot.scratchDir());
            }
        } else {
            l = ctx.listeners().open(instance.id);
        }
        RuntimeEndpoint endpoint = new RuntimeEndpoint(l.channel(), l.address(), secret, new RuntimeApi(instance, ctx.xdt(), ctx.calls()),
                instance.toString());
        String snapshotSecret = snapshot.runtimeSecret();
        if (restore && snapshotSecret != null && !snapshotSecret.isEmpty()) {
            endpoint.allow(snapshotSecret);
        }
        instance.endpoint = endpoint;
        instance.runtimeApi = endpoint.runtimeApi(secret);
    }

    /** Egress decisions go to the function's log (refusals only, host and port only) and to the metrics. */
    private EgressProxy.Observer egressObserver() {
        String name = deployment.name();
        return new EgressProxy.Observer() {
            @Override
            public void allowed(String target) {
                ctx.metrics().egress(name, true);
            }

            @Override
            public void denied(String target, String message) {
                ctx.metrics().egress(name, false);
                ctx.log().append("EGRESS_DENIED " + message);
            }

            @Override
            public void overLimit(String message) {
                ctx.metrics().egress(name, false);
                ctx.log().append("EGRESS_DENIED " + message);
            }
        };
    }

    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

    /** @return a new Runtime API secret: 144 random bits, URL-safe */
    private static String newSecret() {
        byte[] b = new byte[18];
        RANDOM.nextBytes(b);
        return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private void launch(Instance instance, boolean restore, boolean checkpoint) {
        try {
            if (restore) {
                snapshot.restores.incrementAndGet();
                restore(instance);
            } else {
                ctx.launcher().boot(instance, checkpoint, controlToken);
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot start " + instance + ": " + e.getMessage());
            stopReasons.put(instance, "cannot start the instance process: " + e.getMessage());
            if (checkpoint) {
                checkpointFailed("the instance that was to be checkpointed did not start: " + e.getMessage());
            }
            if (instance.hasProcess()) {
                instance.kill(); // CRIU runs already (the daemon failed to start): its exit reports onExit
            } else {
                onExit(instance, -1);
            }
        }
    }

    /**
     * Eager: CRIU reads the whole image (materialized from the store first when the working copy is
     * gone). Lazy and REAP: a page server of thaw's answers CRIU's lazy pages, from the working copy
     * when there is one, else from the store, of which only the image without its lazy pages is
     * materialized.
     */
    private void restore(Instance instance) throws IOException {
        RestoreReport report = instance.restoreReport;
        report.mode = restoreMode;
        SnapshotRepository repository = ctx.repository();
        if (restoreMode == RestoreMode.EAGER) {
            if (Files.isDirectory(snapshot.imagesDir()) || !repository.isStored(deployment)) {
                if (!repository.ensureLocal(deployment, snapshot.imagesDir(), report)) {
                    throw noImages();
                }
                streamFromWorkingCopy(instance, report);
                return;
            }
            streamFromStore(instance, report);
            return;
        }
        Path images = snapshot.imagesDir();
        boolean fromStore = !Files.isDirectory(images);
        if (fromStore) {
            // The image CRIU reads first, then the working set (prepare): fetched at once, CRIU's base
            // image waited behind every chunk of the working set in the store's fetch queue.
            if (!repository.ensureLazyImages(deployment, repository.lazyImagesDir(deployment), report)) {
                throw noImages();
            }
            images = repository.lazyImagesDir(deployment);
            report.source = "store";
        }
        LazyRestore lazy = LazyRestore.prepare(restoreMode, deployment, repository, report);
        instance.lazyRestore = lazy; // closed with the instance, also when the restore fails below
        lazy.listen(ctx.launcher().workDir(instance));
        // CRIU first: it works on its own for tens of ms before it connects to the daemon set up below
        ctx.launcher().restore(instance, snapshot, images);
        PageSource source = fromStore ? repository.pageSource(deployment, report.tally, false) : PageSource.files(images);
        lazy.start(images, source, reason -> pageSourceFailed(instance, reason));
        // REAP: the handler starts once the working set is installed, not while it is still arriving
        lazy.awaitInstalled(PREFETCH_WAIT);
        instance.resume(true);
    }

    /**
     * An eager restore of an image that is only in the store: CRIU restores everything but the lazy
     * pages from a small local image, while the page server streams the lazy pages from the store
     * straight into the tasks (the store's read-ahead decrypts on the other core); the handler starts
     * once all of them are installed. One copy of the memory instead of two (tmpfs, then CRIU's read),
     * and the fetch overlaps CRIU's own work.
     */
    private void streamFromStore(Instance instance, RestoreReport report) throws IOException {
        SnapshotRepository repository = ctx.repository();
        Path images = repository.lazyImagesDir(deployment);
        StorePageSource source = repository.pageSource(deployment, report.tally, true);
        LazyRestore lazy = LazyRestore.prepareStreamAll(deployment, repository, source, report);
        instance.lazyRestore = lazy;
        source.readAheadFromStart(); // decrypting while the image CRIU reads is materialized
        if (!repository.ensureLazyImages(deployment, images, report)) {
            throw noImages();
        }
        report.source = "store";
        streamAll(instance, lazy, images, source);
    }

    /**
     * An eager restore from the working copy, streamed as one from the store is: CRIU restores with
     * the lazy pages left out while the page server installs every one of them from the working
     * copy's files, on the other core. CRIU reading them itself did that work in its own single
     * thread, after the rest: side by side, restores took 35.1 / 38.1 / 94.5 ms that way against
     * 30.7 / 32.5 / 73.6 ms streamed (hello, json-transform, Spring Boot; docs/BENCHMARKS.md).
     */
    private void streamFromWorkingCopy(Instance instance, RestoreReport report) throws IOException {
        Path images = snapshot.imagesDir();
        PageSource source = PageSource.files(images);
        LazyRestore lazy = LazyRestore.prepareStreamAll(deployment, ctx.repository(), source, report);
        instance.lazyRestore = lazy;
        streamAll(instance, lazy, images, source);
    }

    /** Restores from {@code images} while the page server streams every lazy page in from {@code source}. */
    private void streamAll(Instance instance, LazyRestore lazy, Path images, PageSource source) throws IOException {
        lazy.listen(ctx.launcher().workDir(instance));
        ctx.launcher().restore(instance, snapshot, images); // CRIU first, as in restore()
        lazy.start(images, source, reason -> pageSourceFailed(instance, reason));
        lazy.awaitInstalled(STREAM_WAIT);
        instance.resume(true);
    }

    private static IOException noImages() {
        return new IOException("the snapshot's images are neither on this node nor in the snapshot store");
    }

    /**
     * The page server could not serve a page: the instance would hang on that fault, or run on wrong
     * memory, so it is killed; its invocation is retried by a boot, and the reason is logged. The
     * snapshot is discarded at once (its stored copy too): the next start boots and takes a fresh
     * one, instead of every later cold start failing the same way.
     */
    private void pageSourceFailed(Instance instance, String reason) {
        String why = "the page source failed: " + reason;
        LOG.log(System.Logger.Level.WARNING, deployment.name() + ": " + why);
        ctx.log().append("RESTORE_FAILED " + why + " (the instance is killed, the snapshot discarded; its invocation"
                + " is retried by a boot that takes a fresh snapshot)");
        stopReasons.put(instance, why);
        pageSourceFailures.add(instance);
        if (discard(why)) {
            ctx.metrics().restoreFailure(deployment.name());
            ctx.repository().forget(deployment);
        }
        instance.kill();
    }

    private void watchdog(Instance instance, Duration limit) {
        if (!instance.wasReady() && !instance.isDead()) {
            stopReasons.put(instance, "did not become ready within " + limit.toMillis() + " ms");
            instance.kill();
        }
    }

    /** A lazy restore's figures are final, and its working set known, once the first invocation answered. */
    private void firstInvocationAnswered(Instance instance) {
        if (instance.kind == StartKind.BOOT) {
            return;
        }
        LazyRestore lazy = instance.lazyRestore;
        if (lazy != null) {
            lazy.firstInvocationDone(ctx.log());
        }
        ctx.metrics().restore(deployment.name(), instance.restoreReport);
    }

    // ---- the runtime's own messages ------------------------------------------------------------

    @Override
    public void onLog(Instance instance, String line) {
        String token = instance.controlToken != null ? instance.controlToken : controlToken;
        int at = line.indexOf(token);
        if (at < 0) {
            ctx.log().append(line);
            instance.printed(line);
            return;
        }
        if (at > 0) {
            ctx.log().append(line.substring(0, at));
            instance.printed(line.substring(0, at));
        }
        onControl(instance, line.substring(at + token.length()).strip());
    }

    @Override
    public void onControl(Instance instance, String message) {
        if (warm.handles(instance)) {
            warm.onControl(instance, message);
            return;
        }
        if (!instance.checkpointRequested) {
            // only the boot that takes the snapshot speaks the handshake unasked: a line from any other
            // (its function's own code printing the control token it can read) changes nothing
            return;
        }
        if (message.equals(Control.CHECKPOINT_READY) && instance.claimCheckpoint()) {
            Thread.ofPlatform().daemon().name("thaw-checkpoint-" + instance.id).start(() -> checkpoint(instance, true));
        } else if (message.startsWith(Control.CHECKPOINT_ABORT) && snapshot.state() == Snapshot.State.PENDING) {
            String why = message.substring(Control.CHECKPOINT_ABORT.length()).strip();
            checkpointFailed(why);
            ctx.log().append("SNAPSHOT_FAILED " + why);
            kickPool(instance);
        }
    }

    @Override
    public void initFailed(Instance instance, String errorType, String message, List<String> stack) {
        String why = errorType + ": " + message;
        ctx.log().append("INIT_ERROR " + why);
        initErrors.put(instance, new FunctionErrorException(ErrorType.FunctionInitError, errorType,
                "function '" + deployment.name() + "' failed to initialize: " + why, stack));
        instance.kill();
    }

    @Override
    public void restoreFailed(Instance instance, String errorType, String message) {
        stopReasons.put(instance, "afterRestore hooks failed: " + errorType + ": " + message);
        instance.kill();
    }

    /**
     * The runtime asks for a priming invocation: only an instance booted to be checkpointed gets
     * one, before it is ready.
     */
    @Override
    public Optional<PrimingRounds.Round> primingStarted(Instance instance) {
        if (priming == null || instance.kind != StartKind.BOOT || instance.wasReady()
                || snapshot.state() != Snapshot.State.PENDING) {
            return Optional.empty();
        }
        return priming.start(instance);
    }

    @Override
    public boolean primingEnded(Instance instance, String requestId) {
        return priming != null && priming.end(instance, requestId);
    }

    /**
     * A priming invocation hangs: the instance is stopped, the function goes without a snapshot (it
     * would hang the same way next time), and the invocation that waited for the instance is served
     * by a plain boot.
     */
    private void primingOverran(Instance instance, String why) {
        LOG.log(System.Logger.Level.WARNING, deployment.name() + ": " + why);
        checkpointFailed(why);
        ctx.log().append("SNAPSHOT_FAILED " + why + " (the instance is stopped; cold starts boot)");
        stopReasons.put(instance, why);
        primingOverruns.add(instance);
        instance.kill();
    }

    @Override
    public void restoreNext(Instance instance) {
        if (instance.kind == StartKind.BOOT && instance.checkpointRequested && !instance.wasReady()
                && snapshot.state() == Snapshot.State.PENDING && instance.claimCheckpoint()) {
            checkpoint(instance, false); // the runtime waits for this answer: no resume line
        }
    }

    @Override
    public void firstNext(Instance instance) {
        if (spare != null && snapshot.state() == Snapshot.State.READY) {
            spare.refillSoon(); // the version's first instance is up, or a restore took the spare
        }
        if (instance.kind == StartKind.BOOT && instance.checkpointRequested && snapshot.state() == Snapshot.State.PENDING
                && thawRuntimeSaidNothingYet() && instance.claimCheckpoint()) {
            String why = "the runtime asked for work without asking to be snapshotted first (a custom runtime is"
                    + " snapshotted when it calls restore/next after its init, as Lambda SnapStart's runtimes do)";
            checkpointFailed(why);
            ctx.log().append("SNAPSHOT_FAILED " + why + "; cold starts boot");
        }
    }

    /**
     * thaw's runtime says on its stdout whether it is to be snapshotted (checkpoint-ready or
     * checkpoint-abort) before it asks for work, but the node reads stdout on another thread than the
     * Runtime API's: its {@code next} can arrive first. So for thaw's runtime the verdict waits (on
     * that {@code next}, briefly) for the line to be read; a custom runtime says nothing on stdout.
     *
     * @return whether the snapshot is still pending after that wait
     */
    private boolean thawRuntimeSaidNothingYet() {
        if (!"java".equals(deployment.manifest().runtime())) {
            return true;
        }
        long deadline = System.nanoTime() + CONTROL_LINE_WAIT.toNanos();
        while (snapshot.state() == Snapshot.State.PENDING && System.nanoTime() < deadline) {
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
        }
        return snapshot.state() == Snapshot.State.PENDING;
    }

    /**
     * Dumps the instance, which waits: for thaw's runtime on its stdin (it gets the resume line
     * after), for a runtime speaking SnapStart's protocol in its {@code restore/next} request (answered
     * once this returns).
     */
    private void checkpoint(Instance instance, boolean resumeLine) {
        long start = System.nanoTime();
        try {
            String[] pipes = instance.pipeNames();
            Criu.DumpResult r = dumpForClones(instance, snapshot.stagingDir(), snapshot.metaDir().resolve("dump.log"),
                    snapshot.scratchDir());
            snapshot.ready(pipes, r.imageBytes(), r.duration().toMillis(), instance.sandbox != null, instance.egress != null);
            ctx.repository().generation(deployment, 0);
            instance.checkpointMs = (System.nanoTime() - start) / 1e6;
            ctx.metrics().checkpoint(deployment.name(), r.duration().toNanos() / 1e9, r.imageBytes());
            ctx.log().append(String.format("SNAPSHOT taken in %d ms: %.1f MB, after %d warm-up exchanges%s",
                    r.duration().toMillis(), r.imageBytes() / 1048576.0, instance.warmUpExchanges,
                    priming == null ? "" : priming.summary(instance)));
            ctx.repository().publish(deployment, snapshot.imagesDir(), ctx.log(), () -> ctx.shared().awaitedElsewhere(deployment))
                    .thenAccept(stored -> {
                        if (stored) {
                            ctx.shared().taken(deployment, snapshot);
                        } else {
                            ctx.shared().notTaken(deployment, "the snapshot could not be stored");
                        }
                    });
        } catch (IOException | RuntimeException e) {
            String why = "checkpoint failed: " + e.getMessage();
            LOG.log(System.Logger.Level.WARNING, deployment.name() + ": " + why);
            checkpointFailed(why);
            ctx.log().append("SNAPSHOT_FAILED " + why);
        }
        if (resumeLine) {
            try {
                instance.resume(false);
            } catch (IOException e) {
                stopReasons.put(instance, "cannot resume after the checkpoint: " + e.getMessage());
                instance.kill();
            }
        }
        kickPool(instance);
    }

    /**
     * Dumps the instance, leaving it running, into {@code staging} as clones restore it: in a sandbox
     * without what the sandbox makes anew and with its scratch saved to {@code scratch}; the lazy
     * marks checked and the private file mappings made lazy.
     */
    private Criu.DumpResult dumpForClones(Instance instance, Path staging, Path dumpLog, Path scratch) throws IOException {
        InstanceSandbox box = instance.sandbox;
        Criu.DumpResult r = ctx.criu().orElseThrow().dump(instance.rootPid(), staging, dumpLog,
                box == null ? Criu.Wrapper.none() : box.dumpWrapper());
        if (box != null) {
            box.trimDump(staging);
            box.saveScratch(scratch);
        }
        repairLazyMarks(staging);
        lazyFileCopies(staging);
        return r;
    }

    /**
     * The snapshot's state changed (taken, or failed): starts that waited for it may begin. The pool
     * re-examines its queue on any event; an instance's readiness is the next one anyway, so this
     * only matters when the booted instance is already ready (it was checkpointed after init).
     */
    private void kickPool(Instance instance) {
        instance.events().startsMayBegin();
    }

    /**
     * Before anything reads the image: CRIU 4.2 sometimes marks no page lazy ({@link LazyMarks}), and
     * every lazy or REAP restore of such an image would quietly be an eager one without a working set.
     */
    private void repairLazyMarks(Path images) {
        try {
            LazyMarks.repair(images);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, deployment.name() + ": the image's lazy marks could not be checked ("
                    + e.getMessage() + "); lazy and REAP restores of it may restore every page up front");
        }
    }

    /**
     * Before anything reads the image: the pages the process wrote in private file mappings (a JVM's
     * CDS archive and libjvm's data, ~6 MB) become lazy ({@link PrivateFileCopies}), so a lazy or REAP
     * restore installs them with the rest of the memory instead of CRIU reading them before the tasks
     * run. An image that cannot be rewritten is restored as it was dumped.
     */
    private void lazyFileCopies(Path images) {
        try {
            PrivateFileCopies.makeLazy(images);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, deployment.name() + ": the image's private file mappings could not be"
                    + " rewritten (" + e.getMessage() + "); lazy and REAP restores will read their pages up front");
        }
    }

    // ---- exits ---------------------------------------------------------------------------------

    @Override
    public void onExit(Instance instance, int exitValue) {
        try {
            instance.awaitExit(5_000); // the root tears its pid namespace down after the supervisor is gone
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        ctx.registry().remove(instance.id);
        live.remove(instance);
        warm.exited(instance);
        String failure = stopReasons.remove(instance);
        FunctionErrorException initError = initErrors.remove(instance);
        boolean pageSourceFailed = pageSourceFailures.remove(instance);
        boolean primingOverran = primingOverruns.remove(instance);
        if (priming != null) {
            priming.forget(instance);
        }
        LazyRestore lazy = instance.lazyRestore;
        if (lazy != null) {
            lazy.close();
        }
        RuntimeEndpoint endpoint = instance.endpoint;
        if (endpoint != null) {
            endpoint.close();
        }
        EgressProxy egress = instance.egress;
        if (egress != null) {
            egress.close(); // its listener and every relay
        }
        InstanceSandbox box = instance.sandbox;
        boolean outOfMemory = box != null && box.oomKills() > 0 || exitValue == JVM_OUT_OF_MEMORY
                && instance.lastPrinted().stream().anyMatch(l -> l.contains("OutOfMemoryError"));
        if (box != null) {
            box.close(); // whatever of it is left: processes, scratch, cgroup
        }
        SpareSandbox.Prepared spareTaken = instance.spare;
        if (spareTaken != null && spareTaken.parked() != null) {
            spareTaken.parked().close(); // a launcher the start did not use; else only the node's pipe descriptors
        }
        Exit exit;
        String description = failure != null ? failure : outOfMemory ? outOfMemory(box != null) + lastLogHint(instance)
                : describe(exitValue) + lastLogHint(instance);
        if (outOfMemory) {
            ctx.log().append("OUT_OF_MEMORY the instance " + instance.id + " " + description);
        }
        if (pageSourceFailed) {
            exit = new Exit(description, true, Optional.empty(), false);
        } else if (!instance.wasReady() && instance.kind != StartKind.BOOT && instance.stoppedByNode && failure == null) {
            // a restore the pool gave up on (its version retired or deleted, the node stopping): the
            // snapshot and its working copy are as good as before, so neither is discarded nor fetched again
            exit = new Exit("was stopped by the node while it was being restored", false, Optional.empty(), false);
        } else if (!instance.wasReady() && !primingOverran) {
            exit = startFailed(instance, exitValue, failure, initError);
        } else {
            exit = new Exit(description, false, Optional.empty(), outOfMemory);
        }
        if (instance.kind != StartKind.BOOT) {
            dev.thaw.core.FileTrees.deleteQuietly(ctx.launcher().workDir(instance));
        }
        instance.events().exited(instance, exit);
    }

    /**
     * An instance exited before it was ready. A failed restore is replaced by a boot (the pool's next
     * start); a failed boot fails the oldest queued invocation, the one that asked for this instance,
     * with the function's init error.
     */
    private Exit startFailed(Instance instance, int exitValue, String failure, FunctionErrorException initError) {
        if (instance.kind != StartKind.BOOT) {
            String why = failure != null ? failure : "criu restore exited with code " + exitValue + ": "
                    + CriuLogs.errorSummary(ctx.launcher().workDir(instance).resolve("restore.log"));
            ctx.metrics().restoreFailure(deployment.name());
            if (ctx.repository().isStored(deployment) && snapshot.refetchOnce(why)) {
                // The working copy may be what is damaged: the store's chunks are verified on read.
                LOG.log(System.Logger.Level.WARNING, deployment.name() + ": restore failed, restoring again from the store: " + why);
                ctx.log().append("RESTORE_FAILED " + why + " (restoring again from the snapshot store)");
                return new Exit(why, false, Optional.empty(), false);
            }
            LOG.log(System.Logger.Level.WARNING, deployment.name() + ": restore failed, booting instead: " + why);
            ctx.log().append("RESTORE_FAILED " + why + " (booting instead)");
            discard(why);
            ctx.repository().forget(deployment);
            return new Exit(why, false, Optional.empty(), false);
        }
        String why = failure != null ? failure : "the instance " + describe(exitValue) + " during init" + lastLogHint(instance);
        ThawException error = initError != null ? initError : new ThawException(ErrorType.FunctionInitError,
                "function '" + deployment.name() + "' failed to initialize: " + why);
        if (snapshot.state() == Snapshot.State.PENDING) {
            checkpointFailed(error.getMessage()); // what describe shows: the runtime's own init error, when it sent one
        }
        return new Exit(why, false, Optional.of(error), false);
    }

    /** The exit code of a JVM that ran out of heap ({@code -XX:+ExitOnOutOfMemoryError}). */
    private static final int JVM_OUT_OF_MEMORY = 3;

    private String outOfMemory(boolean killedByKernel) {
        int mb = deployment.manifest().memoryMb();
        return killedByKernel ? "ran out of memory: it passed its limit of " + mb + " MB (heap, native memory, threads,"
                + " its /tmp) and was stopped" : "ran out of Java heap (its memory size is " + mb + " MB)";
    }

    /** @return "exited with code N" or "was killed by signal N (SIGNAME)", from the JDK's exit value */
    static String describe(int exitValue) {
        if (exitValue > 128 && exitValue < 128 + 65) {
            int signal = exitValue - 128;
            return "was killed by signal " + signal + signalName(signal);
        }
        return "exited with code " + exitValue;
    }

    private static String signalName(int signal) {
        return switch (signal) {
            case 9 -> " (SIGKILL)";
            case 15 -> " (SIGTERM)";
            case 6 -> " (SIGABRT)";
            case 11 -> " (SIGSEGV)";
            case 7 -> " (SIGBUS)";
            case 2 -> " (SIGINT)";
            default -> "";
        };
    }

    /** @return the instance's own last output lines (never another instance's or the node's), as a hint */
    private static String lastLogHint(Instance instance) {
        List<String> tail = instance.lastPrinted();
        return tail.isEmpty() ? "" : "; its last output: " + String.join(" | ", tail);
    }
}
