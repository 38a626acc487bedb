package dev.thaw.node;

import dev.thaw.core.ErrorType;
import dev.thaw.core.FileTrees;
import dev.thaw.core.FunctionErrorException;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.ThawException;
import dev.thaw.criu.Criu;
import dev.thaw.criu.CriuLogs;
import dev.thaw.lazy.LazyMarks;
import dev.thaw.lazy.PrivateFileCopies;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The instances of one deployed function and the policy that schedules invocations onto them.
 *
 * <p>Lambda's model: an instance serves one invocation at a time. An invocation goes to an idle
 * instance if there is one; otherwise it waits in a bounded queue while the pool starts instances,
 * up to the function's {@code maxInstances}. Instances live on idle for the keep-alive period and
 * are then retired, down to zero.
 *
 * <p>How an instance starts is the snapshot's business ({@link Snapshot}): with a READY snapshot
 * every cold start restores a clone; without one the first cold start boots and checkpoints, and
 * while that checkpoint is PENDING further cold starts wait for it rather than boot (one boot, then
 * restores, is faster than many boots on a small machine). A restore that fails is replaced by a
 * boot, and the reason is recorded.
 *
 * <p>All scheduling state is guarded by {@code this}; process work (spawning, dumping, killing)
 * happens on virtual threads outside the lock, and reports back through the
 * {@link Instance.Listener} callbacks.
 */
final class FunctionPool implements Instance.Listener {
    private static final System.Logger LOG = System.getLogger("thaw.node");
    private static final long INIT_TIMEOUT_MS = 120_000;
    private static final long RESTORE_TIMEOUT_MS = 30_000;
    /** Longest a restored instance waits for its working set before it runs anyway (faults are then served on demand). */
    private static final java.time.Duration PREFETCH_WAIT = java.time.Duration.ofSeconds(3);
    /** Longest an eager restore streamed from the store waits for the whole image (an S3-only fetch of a large one). */
    private static final java.time.Duration STREAM_WAIT = java.time.Duration.ofSeconds(20);

    final Deployment deployment;
    final Snapshot snapshot;
    private final FunctionLog log;
    private final NodeMetrics metrics;
    private final InstanceLauncher launcher;
    private final SnapshotRepository repository;
    private final Optional<Criu> criu;
    private final ScheduledExecutorService timers;
    private final Map<String, Instance> registry;
    private final String runtimeApiBase;
    private final int queueLimit;
    private final String controlToken;

    private final List<Instance> instances = new ArrayList<>();
    private final Deque<Invocation> queue = new ArrayDeque<>();
    /** Why an instance is being stopped, recorded before it is killed and read when it has exited. */
    private final Map<Instance, String> stopReasons = new ConcurrentHashMap<>();
    /** The init error a runtime reported ({@code init/error}) before exiting. */
    private final Map<Instance, FunctionErrorException> initErrors = new ConcurrentHashMap<>();
    private final Map<Instance, Long> idleSince = new ConcurrentHashMap<>();
    /** Instances killed because their page source failed: their invocation is retried. */
    private final java.util.Set<Instance> pageSourceFailures = ConcurrentHashMap.newKeySet();
    /** Set after a page-source failure: the next instance boots instead of restoring. */
    private final java.util.concurrent.atomic.AtomicBoolean bootNext = new java.util.concurrent.atomic.AtomicBoolean();
    /** Instances stopped because a priming invocation overran: their queued invocation is served by a boot. */
    private final java.util.Set<Instance> primingOverruns = ConcurrentHashMap.newKeySet();
    /** The function's priming invocations before its checkpoint; null when it is not primed. */
    private final PrimingRounds priming;
    /** {@code eager}, {@code lazy} or {@code reap}. */
    final String restoreMode;
    private boolean closed;

    FunctionPool(Deployment deployment, Snapshot snapshot, FunctionLog log, NodeMetrics metrics,
                 InstanceLauncher launcher, SnapshotRepository repository, Optional<Criu> criu,
                 ScheduledExecutorService timers, Map<String, Instance> registry, String runtimeApiBase, int queueLimit,
                 String restoreMode) {
        this.restoreMode = restoreMode;
        this.deployment = deployment;
        this.snapshot = snapshot;
        this.log = log;
        this.metrics = metrics;
        this.launcher = launcher;
        this.repository = repository;
        this.criu = criu;
        this.timers = timers;
        this.registry = registry;
        this.runtimeApiBase = runtimeApiBase;
        this.queueLimit = queueLimit;
        String token = snapshot.controlToken();
        this.controlToken = token != null ? token : "THAW-" + UUID.randomUUID();
        var primed = deployment.manifest().priming();
        this.priming = primed == null ? null
                : new PrimingRounds(primed, deployment.manifest().timeoutMs(), timers, this::primingOverran);
    }

    // ---- invocations -------------------------------------------------------------------------

    /** Accepts an invocation; its future completes when it has been served or has failed. */
    synchronized Invocation submit(Invocation inv) {
        if (closed) {
            throw new ThawException(ErrorType.ServiceUnavailable,
                    "function '" + deployment.name() + "' was just redeployed or deleted; retry");
        }
        if (queue.size() >= queueLimit && idleInstance().isEmpty()) {
            throw new ThawException(ErrorType.TooManyRequests, "function '" + deployment.name() + "' has all "
                    + deployment.manifest().maxInstances() + " instances busy and " + queue.size()
                    + " invocations queued (the limit); retry later or raise maxInstances");
        }
        queue.addLast(inv);
        rebalance();
        return inv;
    }

    /** The runtime posted a result. */
    boolean complete(Instance instance, String requestId, byte[] body) {
        Invocation inv = instance.current(requestId);
        if (inv == null || inv.isDone()) {
            return false;
        }
        double durationMs = (System.nanoTime() - inv.startedNanos) / 1e6;
        firstInvocationDone(instance, inv);
        report(inv, durationMs, "200");
        // Idle before the caller hears back: a client that evicts or invokes right after its answer
        // must find this instance idle, not still busy.
        release(instance);
        inv.result.complete(new InvocationResult(inv.requestId, body, inv.start, optional(inv.coldStartMs),
                optional(inv.checkpointMs), durationMs, deployment.version(), inv.restore));
        return true;
    }

    /** The runtime posted a function error. */
    boolean fail(Instance instance, String requestId, String errorType, String message, List<String> stack) {
        Invocation inv = instance.current(requestId);
        if (inv == null || inv.isDone()) {
            return false;
        }
        double durationMs = (System.nanoTime() - inv.startedNanos) / 1e6;
        firstInvocationDone(instance, inv);
        report(inv, durationMs, "502");
        log.append("ERROR RequestId: " + inv.requestId + " " + errorType + ": " + message);
        release(instance);
        inv.fail(new FunctionErrorException(ErrorType.FunctionError, errorType,
                "function '" + deployment.name() + "' failed: " + errorType + ": " + message, stack));
        return true;
    }

    /** The runtime reported that init failed ({@code init/error}); the process exits next. */
    void initFailed(Instance instance, String errorType, String message, List<String> stack) {
        String why = errorType + ": " + message;
        log.append("INIT_ERROR " + why);
        initErrors.put(instance, new FunctionErrorException(ErrorType.FunctionInitError, errorType,
                "function '" + deployment.name() + "' failed to initialize: " + why, stack));
        instance.kill();
    }

    /** The runtime's afterRestore hooks failed ({@code restore/error}). */
    void restoreFailed(Instance instance, String errorType, String message) {
        stopReasons.put(instance, "afterRestore hooks failed: " + errorType + ": " + message);
        instance.kill();
    }

    /** A lazy restore's figures are final, and its working set known, once the first invocation answered. */
    private void firstInvocationDone(Instance instance, Invocation inv) {
        if (inv.restore == null) {
            return;
        }
        LazyRestore lazy = instance.lazyRestore;
        if (lazy != null) {
            lazy.firstInvocationDone(log);
        }
        metrics.restore(deployment.name(), inv.restore);
    }

    private void release(Instance instance) {
        synchronized (this) {
            instance.markIdle();
            if (closed) {
                instance.kill();
                return;
            }
            idleSince.put(instance, System.nanoTime());
            rebalance();
        }
    }

    private void report(Invocation inv, double durationMs, String code) {
        StringBuilder line = new StringBuilder()
                .append("REPORT RequestId: ").append(inv.requestId)
                .append("\tDuration: ").append(String.format("%.2f ms", durationMs))
                .append("\tBilled Duration: ").append((long) Math.ceil(durationMs)).append(" ms")
                .append("\tMemory Size: ").append(deployment.manifest().memoryMb()).append(" MB")
                .append("\tStart: ").append(inv.start);
        if (inv.start.equals("boot")) {
            line.append("\tInit Duration: ").append(String.format("%.2f ms", inv.coldStartMs));
            if (!Double.isNaN(inv.checkpointMs)) {
                line.append("\tCheckpoint Duration: ").append(String.format("%.2f ms", inv.checkpointMs));
            }
        } else if (inv.start.equals("restore")) {
            line.append("\tRestore Duration: ").append(String.format("%.2f ms", inv.coldStartMs));
            if (inv.restore != null) {
                line.append('\t').append(inv.restore.reportFields());
            }
        }
        log.append(line.toString());
        metrics.invocation(deployment.name(), code, inv.start, durationMs / 1000);
    }

    // ---- scheduling ----------------------------------------------------------------------------

    private synchronized void rebalance() {
        if (closed) {
            return;
        }
        queue.removeIf(Invocation::isDone);
        for (Instance i : instances) {
            if (queue.isEmpty()) {
                break;
            }
            if (i.state() == Instance.State.IDLE) {
                assign(i, queue.pollFirst());
            }
        }
        long starting = instances.stream().filter(i -> i.state() == Instance.State.STARTING).count();
        long needed = queue.size() - starting;
        while (needed > 0 && instances.size() < deployment.manifest().maxInstances()
                && snapshot.state() != Snapshot.State.PENDING) {
            startInstance();
            needed--;
        }
        metrics.instances(deployment.name(), counts());
    }

    private void assign(Instance instance, Invocation inv) {
        idleSince.remove(instance);
        // Everything the runtime reads about the invocation is set before the instance can take it:
        // its `next` returns the moment the invocation is in its inbox, on another thread.
        int timeout = deployment.manifest().timeoutMs();
        inv.deadlineEpochMs = System.currentTimeMillis() + timeout;
        if (instance.servedNone()) {
            inv.start = instance.kind == Instance.Kind.RESTORE ? "restore" : "boot";
            inv.coldStartMs = instance.coldStartMs();
            inv.checkpointMs = checkpointMsOf(instance);
            inv.restore = instance.kind == Instance.Kind.RESTORE ? instance.restoreReport : null;
        }
        log.append("START RequestId: " + inv.requestId + " Version: " + deployment.version());
        instance.assign(inv);
        timers.schedule(() -> timeOut(instance, inv), timeout, TimeUnit.MILLISECONDS);
    }

    private void timeOut(Instance instance, Invocation inv) {
        if (inv.isDone()) {
            return;
        }
        int timeout = deployment.manifest().timeoutMs();
        report(inv, timeout, "504");
        inv.fail(new ThawException(ErrorType.FunctionTimeout, "function '" + deployment.name()
                + "' timed out after " + timeout + " ms; its instance was stopped"));
        log.append("TIMEOUT RequestId: " + inv.requestId + " after " + timeout + " ms");
        stopReasons.put(instance, "timed out");
        instance.kill();
    }

    private Optional<Instance> idleInstance() {
        return instances.stream().filter(i -> i.state() == Instance.State.IDLE).findFirst();
    }

    private final Map<Instance, Double> checkpointMs = new ConcurrentHashMap<>();

    private double checkpointMsOf(Instance instance) {
        return checkpointMs.getOrDefault(instance, Double.NaN);
    }

    private void startInstance() {
        String id = UUID.randomUUID().toString().substring(0, 13).replace("-", "");
        String api = runtimeApiBase + "/i/" + id;
        boolean restore = snapshot.state() == Snapshot.State.READY && !bootNext.getAndSet(false);
        boolean checkpoint = !restore && deployment.manifest().snapshots() && criu.isPresent()
                && snapshot.beginCheckpoint(controlToken);
        Instance instance = new Instance(id, deployment, restore ? Instance.Kind.RESTORE : Instance.Kind.BOOT, api, this);
        instances.add(instance);
        registry.put(id, instance);
        long limit = restore ? RESTORE_TIMEOUT_MS : INIT_TIMEOUT_MS;
        timers.schedule(() -> watchdog(instance, limit), limit, TimeUnit.MILLISECONDS);
        Thread.ofPlatform().daemon().name("thaw-start-" + id).start(() -> launch(instance, restore, checkpoint));
    }

    private void launch(Instance instance, boolean restore, boolean checkpoint) {
        try {
            if (restore) {
                snapshot.restores.incrementAndGet();
                restore(instance);
            } else {
                launcher.boot(instance, checkpoint, controlToken);
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot start " + instance + ": " + e.getMessage());
            stopReasons.put(instance, "cannot start the instance process: " + e.getMessage());
            if (checkpoint) {
                snapshot.failed("the instance that was to be checkpointed did not start: " + e.getMessage());
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
        if (restoreMode.equals("eager")) {
            if (java.nio.file.Files.isDirectory(snapshot.imagesDir()) || !repository.isStored(deployment)) {
                if (!repository.ensureLocal(deployment, snapshot.imagesDir(), report)) {
                    throw noImages();
                }
                launcher.restore(instance, snapshot, snapshot.imagesDir(), false, true);
                return;
            }
            streamFromStore(instance, report);
            return;
        }
        Path images = snapshot.imagesDir();
        boolean fromStore = !java.nio.file.Files.isDirectory(images);
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
        lazy.listen(launcher.workDir(instance));
        // CRIU first: it works on its own for tens of ms before it connects to the daemon set up below
        launcher.restore(instance, snapshot, images, true, false);
        dev.thaw.lazy.PageSource source = fromStore ? repository.pageSource(deployment, report.tally, false)
                : dev.thaw.lazy.PageSource.files(images);
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
        Path images = repository.lazyImagesDir(deployment);
        StorePageSource source = repository.pageSource(deployment, report.tally, true);
        LazyRestore lazy = LazyRestore.prepareStreamAll(deployment, repository, source, report);
        instance.lazyRestore = lazy;
        source.readAheadFromStart(); // decrypting while the image CRIU reads is materialized
        if (!repository.ensureLazyImages(deployment, images, report)) {
            throw noImages();
        }
        report.source = "store";
        lazy.listen(launcher.workDir(instance));
        launcher.restore(instance, snapshot, images, true, false); // CRIU first, as in restore()
        lazy.start(images, source, reason -> pageSourceFailed(instance, reason));
        lazy.awaitInstalled(STREAM_WAIT);
        instance.resume(true);
    }

    private static IOException noImages() {
        return new IOException("the snapshot's images are neither on this node nor in the snapshot store");
    }

    /**
     * The page server could not serve a page: the instance would hang on that fault, or run on wrong
     * memory, so it is killed; its invocation is retried by a boot (onExit), and the reason is logged.
     */
    private void pageSourceFailed(Instance instance, String reason) {
        String why = "the page source failed: " + reason;
        LOG.log(System.Logger.Level.WARNING, deployment.name() + ": " + why);
        log.append("RESTORE_FAILED " + why + " (the instance is killed; its invocation is retried by booting)");
        stopReasons.put(instance, why);
        pageSourceFailures.add(instance);
        bootNext.set(true);
        instance.kill();
    }

    private void watchdog(Instance instance, long limitMs) {
        if (instance.state() == Instance.State.STARTING) {
            stopReasons.put(instance, "did not become ready within " + limitMs + " ms");
            instance.kill();
        }
    }

    // ---- instance callbacks --------------------------------------------------------------------

    @Override
    public void onReady(Instance instance) {
        metrics.coldStart(deployment.name(), instance.kind == Instance.Kind.RESTORE ? "restore" : "boot",
                instance.coldStartMs() / 1000);
        synchronized (this) {
            instance.markIdle();
            idleSince.put(instance, System.nanoTime());
            rebalance();
        }
    }

    @Override
    public void onLog(Instance instance, String line) {
        int at = line.indexOf(controlToken);
        if (at < 0) {
            log.append(line);
            return;
        }
        if (at > 0) {
            log.append(line.substring(0, at));
        }
        onControl(instance, line.substring(at + controlToken.length()).strip());
    }

    @Override
    public void onControl(Instance instance, String message) {
        if (message.equals("checkpoint-ready")) {
            Thread.ofPlatform().daemon().name("thaw-checkpoint-" + instance.id).start(() -> checkpoint(instance));
        } else if (message.startsWith("checkpoint-abort")) {
            String why = message.substring("checkpoint-abort".length()).strip();
            snapshot.failed(why);
            log.append("SNAPSHOT_FAILED " + why);
            rebalance();
        }
    }

    /**
     * The runtime asks for a priming invocation: only an instance booted to be checkpointed gets
     * one, before it is ready.
     */
    Optional<PrimingRounds.Round> primingStarted(Instance instance) {
        if (priming == null || instance.kind != Instance.Kind.BOOT || instance.wasReady()
                || snapshot.state() != Snapshot.State.PENDING) {
            return Optional.empty();
        }
        return priming.start(instance);
    }

    /** @return whether the request id was the instance's priming invocation in progress */
    boolean primingEnded(Instance instance, String requestId) {
        return priming != null && priming.end(instance, requestId);
    }

    /**
     * A priming invocation hangs: the instance is stopped, the function goes without a snapshot (it
     * would hang the same way next time), and the invocation that waited for the instance is served
     * by a plain boot.
     */
    private void primingOverran(Instance instance, String why) {
        LOG.log(System.Logger.Level.WARNING, deployment.name() + ": " + why);
        snapshot.failed(why);
        log.append("SNAPSHOT_FAILED " + why + " (the instance is stopped; cold starts boot)");
        stopReasons.put(instance, why);
        primingOverruns.add(instance);
        instance.kill();
    }

    private void checkpoint(Instance instance) {
        long start = System.nanoTime();
        try {
            String[] pipes = instance.pipeNames();
            Path staging = snapshot.stagingDir();
            Criu.DumpResult r = criu.orElseThrow().dump(instance.rootPid(), staging,
                    snapshot.metaDir().resolve("dump.log"));
            repairLazyMarks(staging);
            lazyFileCopies(staging);
            snapshot.ready(pipes, r.imageBytes(), r.duration().toMillis());
            checkpointMs.put(instance, (System.nanoTime() - start) / 1e6);
            metrics.checkpoint(deployment.name(), r.duration().toNanos() / 1e9, r.imageBytes());
            log.append(String.format("SNAPSHOT taken in %d ms: %.1f MB%s", r.duration().toMillis(),
                    r.imageBytes() / 1048576.0, priming == null ? "" : priming.summary(instance)));
            repository.publish(deployment, snapshot.imagesDir(), log);
        } catch (IOException | RuntimeException e) {
            String why = "checkpoint failed: " + e.getMessage();
            LOG.log(System.Logger.Level.WARNING, deployment.name() + ": " + why);
            snapshot.failed(why);
            log.append("SNAPSHOT_FAILED " + why);
        }
        try {
            instance.resume(false);
        } catch (IOException e) {
            stopReasons.put(instance, "cannot resume after the checkpoint: " + e.getMessage());
            instance.kill();
        }
        rebalance();
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

    @Override
    public void onExit(Instance instance, int exitCode) {
        registry.remove(instance.id);
        idleSince.remove(instance);
        checkpointMs.remove(instance);
        String failure = stopReasons.remove(instance);
        FunctionErrorException initError = initErrors.remove(instance);
        boolean neverReady = !instance.wasReady();
        boolean pageSourceFailed = pageSourceFailures.remove(instance);
        boolean primingOverran = primingOverruns.remove(instance);
        if (priming != null) {
            priming.forget(instance);
        }
        LazyRestore lazy = instance.lazyRestore;
        if (lazy != null) {
            lazy.close();
        }
        synchronized (this) {
            instances.remove(instance);
            Invocation inv = instance.current();
            if (inv != null && !inv.isDone() && pageSourceFailed && !closed) {
                queue.addFirst(inv); // retried by the boot rebalance() starts
            } else if (inv != null && !inv.isDone()) {
                report(inv, (System.nanoTime() - inv.startedNanos) / 1e6, "502");
                inv.fail(new ThawException(ErrorType.InstanceCrashed, "the instance of function '" + deployment.name()
                        + "' exited with code " + exitCode + " while running the invocation"
                        + lastLogHint()));
            } else if (neverReady && !closed && !primingOverran) {
                startFailed(instance, exitCode, failure, initError);
            }
            rebalance();
        }
        cleanUp(instance);
    }

    /**
     * An instance exited before it was ready. A failed restore is replaced by a boot (the caller's
     * rebalance starts it); a failed boot fails the oldest queued invocation, the one that asked
     * for this instance, with the function's init error.
     */
    private void startFailed(Instance instance, int exitCode, String failure, FunctionErrorException initError) {
        if (instance.kind == Instance.Kind.RESTORE) {
            String why = failure != null ? failure : "criu restore exited with code " + exitCode + ": "
                    + CriuLogs.errorSummary(launcher.workDir(instance).resolve("restore.log"));
            metrics.restoreFailure(deployment.name());
            if (repository.isStored(deployment) && snapshot.refetchOnce(why)) {
                // The working copy may be what is damaged: the store's chunks are verified on read.
                LOG.log(System.Logger.Level.WARNING, deployment.name() + ": restore failed, restoring again from the store: " + why);
                log.append("RESTORE_FAILED " + why + " (restoring again from the snapshot store)");
                return; // rebalance() starts another restore, which materializes the images again
            }
            LOG.log(System.Logger.Level.WARNING, deployment.name() + ": restore failed, booting instead: " + why);
            log.append("RESTORE_FAILED " + why + " (booting instead)");
            snapshot.discard(why);
            repository.forget(deployment);
            return; // rebalance() boots a replacement for the queued invocation
        }
        if (snapshot.state() == Snapshot.State.PENDING) {
            snapshot.failed("the instance exited during init");
        }
        String why = failure != null ? failure : "the instance exited with code " + exitCode + " during init" + lastLogHint();
        Invocation first = queue.pollFirst();
        if (first != null && !first.isDone()) {
            first.fail(initError != null ? initError : new ThawException(ErrorType.FunctionInitError,
                    "function '" + deployment.name() + "' failed to initialize: " + why));
        }
    }

    private String lastLogHint() {
        List<String> tail = log.tail(3);
        return tail.isEmpty() ? "" : "; last log lines: " + String.join(" | ", tail);
    }

    private void cleanUp(Instance instance) {
        if (instance.kind == Instance.Kind.RESTORE) {
            FileTrees.deleteQuietly(launcher.workDir(instance));
        }
    }

    // ---- lifecycle -----------------------------------------------------------------------------

    /** Stops idle instances older than {@code keepAliveNanos}. */
    void retireIdle(long keepAliveNanos) {
        long now = System.nanoTime();
        List<Instance> old = new ArrayList<>();
        synchronized (this) {
            for (Instance i : instances) {
                Long since = idleSince.get(i);
                if (i.state() == Instance.State.IDLE && since != null && now - since > keepAliveNanos) {
                    old.add(i);
                }
            }
        }
        old.forEach(Instance::kill);
    }

    /** Stops every idle instance and waits for them to exit. */
    int evictIdle() throws InterruptedException {
        List<Instance> idle;
        synchronized (this) {
            idle = instances.stream().filter(i -> i.state() == Instance.State.IDLE).toList();
            idle.forEach(Instance::kill);
        }
        for (Instance i : idle) {
            i.awaitExit(5_000);
        }
        awaitRemoved(idle);
        return idle.size();
    }

    private void awaitRemoved(List<Instance> gone) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            synchronized (this) {
                if (gone.stream().noneMatch(instances::contains)) {
                    return;
                }
            }
            Thread.sleep(5);
        }
    }

    /**
     * Stops the pool: no new invocations; idle and starting instances are killed at once, busy ones
     * after their invocation. Returns the queued invocations, which the caller re-submits (redeploy)
     * or fails (delete).
     */
    List<Invocation> close() {
        List<Instance> toKill;
        List<Invocation> pending;
        synchronized (this) {
            closed = true;
            pending = new ArrayList<>(queue);
            queue.clear();
            toKill = instances.stream().filter(i -> i.state() != Instance.State.BUSY).toList();
        }
        toKill.forEach(Instance::kill);
        return pending;
    }

    /** Waits until no instance is serving an invocation, or {@code deadlineNanos} passes. */
    void awaitNoneBusy(long deadlineNanos) throws InterruptedException {
        while (System.nanoTime() < deadlineNanos && counts().busy() > 0) {
            Thread.sleep(20);
        }
    }

    /** Kills everything, busy instances too, and waits for the processes to exit. */
    void shutdown() throws InterruptedException {
        List<Invocation> pending = close();
        pending.forEach(inv -> inv.fail(new ThawException(ErrorType.ServiceUnavailable, "the node is shutting down")));
        List<Instance> all;
        synchronized (this) {
            all = List.copyOf(instances);
        }
        all.forEach(Instance::kill);
        for (Instance i : all) {
            i.awaitExit(5_000);
        }
    }

    synchronized FunctionInfo.InstanceCounts counts() {
        int starting = 0;
        int idle = 0;
        int busy = 0;
        for (Instance i : instances) {
            switch (i.state()) {
                case STARTING -> starting++;
                case IDLE -> idle++;
                case BUSY -> busy++;
                default -> { }
            }
        }
        return new FunctionInfo.InstanceCounts(starting, idle, busy, queue.size());
    }

    private static OptionalDouble optional(double v) {
        return Double.isNaN(v) ? OptionalDouble.empty() : OptionalDouble.of(v);
    }
}
