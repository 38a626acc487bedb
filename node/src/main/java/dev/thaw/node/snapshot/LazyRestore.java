package dev.thaw.node.snapshot;

import dev.thaw.lazy.ImageIndex;
import dev.thaw.lazy.LazyPages;
import dev.thaw.lazy.LazyPagesServer;
import dev.thaw.lazy.PageSource;
import dev.thaw.lazy.WorkingSet;
import dev.thaw.node.function.Deployment;
import dev.thaw.node.function.FunctionLog;
import dev.thaw.core.RestoreMode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/*
 * One lazy or REAP restore of one instance, from CRIU's first connection to the instance's exit.
 *
 * The page source is the local working copy when the node has one, else the snapshot store. In
 * `lazy` mode every page of anonymous memory is served on its first fault, one page per fault: the
 * baseline REAP compares against. In `reap` mode the first restore of a snapshot records the pages
 * its first invocation faults on; the node stores them next to the snapshot, laid out in address
 * order as one object (so fetching them is a few sequential chunk reads, and installing them a
 * few thousand long copies rather than one per page); later restores fetch that working
 * set as soon as the image CRIU reads is on tmpfs (prepare(), while CRIU restores the rest of the
 * process; fetched together, the image waited behind every chunk of the set in the store's fetch
 * queue and CRIU started last) and install it before the tasks run, and only the pages outside it
 * fault. When a later invocation faults on many pages outside the recorded set (the
 * working set depends on the input), the set is recorded again, extended by those pages.
 *
 * After the first invocation has answered, the daemon copies whatever memory is still lazy in the
 * background and lets go of the process: an instance never depends on the store for long.
 */
/** The page-serving side of one lazy or REAP restore. */
public final class LazyRestore implements AutoCloseable {
    /**
     * Faults outside the recorded set above this share of its pages (and at least 256 pages) trigger
     * a re-record. Some are always there (a restored JVM's GC and compiler threads touch slightly
     * different pages each time: about a fifth of the set, measured), so the bar is well above that.
     */
    private static final double RERECORD_SHARE = 0.5;
    private static final long RERECORD_MIN_PAGES = 256;
    /**
     * Fewer faults outside the set extend it instead, at most {@link #MAX_EXTENSIONS} times per
     * snapshot and node: each fault a restore takes outside the set is a page-source read on the
     * critical path (50-90 per restore for the json and image workloads, ~0.3 ms each from the disk
     * tier), and a clone of the same image mostly faults on the same pages again. Bounded, because
     * some faults differ from clone to clone (GC and compiler threads) and each extension re-stores
     * the whole set.
     */
    private static final long EXTEND_MIN_PAGES = 16;
    private static final int MAX_EXTENSIONS = 3;

    private final RestoreMode mode;
    private final Deployment deployment;
    private final SnapshotRepository repository;
    private final RestoreReport report;
    private final Arena arena = Arena.ofShared();
    private final Optional<WorkingSet> prefetched;
    /** The stored working set's bytes, fetched from the moment this restore is prepared. */
    private volatile CompletableFuture<MemorySegment> prefetchBytes;
    /** Those bytes as they arrive in order, installed by the page server while the rest is fetched. */
    private volatile Optional<LazyPages.Arrival> arrival = Optional.empty();
    // set by start(), on the thread that starts the restore; read by the invocation and exit threads
    private volatile ImageIndex index;
    private volatile PageSource source;
    private volatile LazyPagesServer server;
    /** Bound by {@link #listen}, adopted by the daemon in {@link #start}. */
    private volatile dev.thaw.lazy.LazyPagesSocket socket;
    private volatile boolean reported;
    /** Set once the instance's processes are gone: pages it lacked then are nobody's problem. */
    private volatile boolean exited;
    /** The working set being stored: it reads the page source, which must stay open until it is done. */
    private volatile java.util.concurrent.CompletableFuture<Void> saving;
    /** Bytes of {@link #arena} holding the prefetched working set. */
    private volatile long prefetchHeldBytes;
    private final java.util.concurrent.atomic.AtomicBoolean sourceReleased = new java.util.concurrent.atomic.AtomicBoolean();
    private final java.util.concurrent.atomic.AtomicBoolean arenaReleased = new java.util.concurrent.atomic.AtomicBoolean();

    private LazyRestore(RestoreMode mode, Deployment d, SnapshotRepository repository, RestoreReport report) {
        this.mode = mode;
        this.deployment = d;
        this.repository = repository;
        this.report = report;
        this.prefetched = mode == RestoreMode.REAP ? repository.workingSet(d) : Optional.empty();
        repository.liveRestores().add(this);
        if (prefetched.isPresent() && repository.isWorkingSetStored(d)) {
            // Fetched while CRIU starts: by the time its tasks fault, most of the set is here.
            prefetchHeldBytes = prefetched.get().bytes();
            LazyPages.Arrival bytes = new LazyPages.Arrival(LazyPages.pageMemory(prefetched.get().bytes(), arena));
            arrival = Optional.of(bytes);
            prefetchBytes = fetch(() -> {
                LazyPages.populate(bytes.segment()); // on the fetching thread: CRIU starts meanwhile
                return repository.readStoredWorkingSet(d, bytes, report.tally);
            });
        }
    }

    /**
     * Begins a lazy or REAP restore: picks the working set to prefetch, and starts fetching it from
     * the store at once, while the caller starts CRIU (call it once the image CRIU reads is there).
     * The set is written into memory the kernel populates on the fetching thread
     * ({@link LazyPages#pageMemory}), not zeroed up front.
     */
    public static LazyRestore prepare(RestoreMode mode, Deployment d, SnapshotRepository repository, RestoreReport report) {
        return new LazyRestore(mode, d, repository, report);
    }

    /**
     * Begins an eager restore whose lazy pages are all streamed into the restored tasks, in file
     * order, as soon as their mappings exist: straight from the store when the image is only there
     * (no copy on tmpfs for CRIU to read again), or from the working copy's files, beside CRIU's own
     * work instead of after it.
     *
     * @param source where the pages come from (the store's read ahead in file order, or the working
     *     copy's files; passed again to {@link #start})
     */
    public static LazyRestore prepareStreamAll(Deployment d, SnapshotRepository repository, PageSource source,
                                        RestoreReport report) {
        report.streamed = true;
        LazyRestore restore = new LazyRestore(RestoreMode.EAGER, d, repository, report);
        restore.source = source; // owned (closed) from now on, even if the restore fails before start()
        return restore;
    }

    /**
     * Starts the page server; CRIU may be started right after.
     *
     * @param imagesDir the image CRIU restores from (whole, or without its lazy pages)
     * @param source where the lazy pages come from (closed with this restore)
     */
    public LazyRestore start(Path imagesDir, PageSource source, Consumer<String> onFailure) {
        if (socket == null) {
            throw new IllegalStateException("listen() comes first: it binds the socket CRIU connects to");
        }
        this.source = source;
        this.index = ImageIndex.load(imagesDir);
        LazyPages.Options options = LazyPages.Options.of(socket.path().getParent(), index, source)
                .withRecord(mode == RestoreMode.REAP)
                .withStreamAll(report.streamed)
                .withFailureHandler(reason -> {
                    if (!exited) {
                        onFailure.accept(reason);
                    }
                });
        if (prefetched.isPresent()) {
            if (prefetchBytes == null) { // known to this node only: read from the image, page range by range
                prefetchHeldBytes = prefetched.get().bytes();
                prefetchBytes = fetch(() -> index.read(prefetched.get(), source, arena));
            }
            options = options.withPrefetch(new LazyPages.Prefetch(prefetched.get(), prefetchBytes, arrival));
        }
        report.imageBytes = index.totalPresentBytes();
        this.server = LazyPages.start(options, socket);
        server.whenEnded().thenRun(this::releaseOnceInstalled);
        return this;
    }

    /**
     * Binds the socket CRIU connects to in the restore's work directory ({@link LazyPagesSocket}),
     * so that CRIU can be started right after and {@link #start} sets the daemon up while CRIU works:
     * CRIU spends tens of milliseconds on its own before it connects, and its connection waits in
     * the socket's backlog until the daemon accepts it.
     */
    public void listen(Path workDir) {
        this.socket = LazyPages.listen(workDir);
    }

    /** Fetches the working set's bytes on another thread, while the restore goes on. */
    private CompletableFuture<MemorySegment> fetch(java.util.function.Supplier<MemorySegment> read) {
        return CompletableFuture.supplyAsync(() -> {
            MemorySegment bytes = read.get();
            report.fetched();
            return bytes;
        }, command -> Thread.ofPlatform().daemon().name("thaw-prefetch-" + deployment.name()).start(command));
    }

    /**
     * Waits until what is installed up front is (the prefetched working set, fetched while CRIU
     * restores; or the whole image when streaming), so that the handler runs on installed memory.
     * Returns at once when there is nothing to install up front; after {@code timeout} the instance
     * runs anyway and faults on what is missing.
     */
    public void awaitInstalled(java.time.Duration timeout) {
        long start = System.nanoTime();
        server.awaitInstalled(timeout);
        if (report.streamed) {
            report.installNanos = System.nanoTime() - start;
        }
    }

    /**
     * The first invocation answered: fills the report, stores or extends the working set, and lets
     * the daemon copy the rest of the memory in the background.
     */
    public void firstInvocationDone(FunctionLog log) {
        if (reported || server == null) {
            return;
        }
        reported = true;
        LazyPagesServer.Stats s = server.stats();
        report.pagesUpFront = s.pagesInstalledUpFront() + s.pagesStreamed();
        report.faultsOnDemand = s.faultsServed();
        report.zeroPageFaults = s.zeroPagesServed();
        if (!report.streamed) {
            report.installNanos = s.prefetchInstallTime().toNanos();
        }
        if (mode == RestoreMode.REAP) {
            WorkingSet recorded = server.recorded();
            if (prefetched.isEmpty()) {
                report.workingSetBytes = recorded.bytes();
                if (recorded.pages() > 0) {
                    saving = repository.saveWorkingSet(deployment, recorded, index, source, log, "recorded");
                } else {
                    log.append("WORKING_SET not recorded: the first invocation faulted on no lazy page (the image has "
                            + index.lazyBytes() / ImageIndex.PAGE_SIZE + " lazy pages); the next restore records again");
                }
            } else {
                report.workingSetBytes = prefetched.get().bytes();
                long missed = recorded.pages();
                String outside = missed + " pages faulted outside the recorded set of " + prefetched.get().pages();
                if (missed >= RERECORD_MIN_PAGES && missed > RERECORD_SHARE * prefetched.get().pages()) {
                    saving = repository.saveWorkingSet(deployment, union(prefetched.get(), recorded), index, source, log,
                            "re-recorded (" + outside + ")");
                } else if (missed >= EXTEND_MIN_PAGES && repository.claimWorkingSetExtension(deployment, MAX_EXTENSIONS)) {
                    saving = repository.saveWorkingSet(deployment, union(prefetched.get(), recorded), index, source, log,
                            "extended (" + outside + ")");
                }
            }
        } else if (report.streamed) {
            report.workingSetBytes = report.pagesUpFront * ImageIndex.PAGE_SIZE;
        } else {
            report.workingSetBytes = s.pagesServedOnDemand() * ImageIndex.PAGE_SIZE;
        }
        server.finishInBackground();
    }

    private static WorkingSet union(WorkingSet stored, WorkingSet faulted) {
        List<WorkingSet.Run> runs = new ArrayList<>(stored.runs());
        runs.addAll(faulted.runs());
        return new WorkingSet(runs);
    }

    String functionName() {
        return deployment.name();
    }

    /**
     * @return native and heap bytes this restore holds for serving pages: the prefetched working set,
     *     and the plaintext chunks its store page source keeps; 0 once both are released
     */
    long heldBytes() {
        long held = arenaReleased.get() ? 0 : prefetchHeldBytes;
        if (!sourceReleased.get() && source instanceof StorePageSource s) {
            held += s.cachedBytes();
        }
        return held;
    }

    /**
     * The daemon ended. If it installed every page, the instance needs neither the page source nor
     * the prefetched bytes any more, though it may run for a long time: both go now rather than at
     * its exit (a Spring Boot instance held 56 MB of working set and up to 64 MiB of decrypted chunks
     * for its whole life). If it ended otherwise (failed, closed), the instance is being killed and
     * {@link #close()} frees them.
     */
    private void releaseOnceInstalled() {
        if (server.stats().finished()) {
            release();
        }
    }

    /**
     * @return whether the instance needs nothing more of the images: its page server installed every
     *     page and ended, and let go of the page source (after a working set being stored read it)
     */
    public boolean settled() {
        LazyPagesServer s = server;
        return s != null && s.whenEnded().toCompletableFuture().isDone() && s.stats().finished() && sourceReleased.get()
                && workingSetSaved();
    }

    /**
     * @return whether the page server will read no more of the images: every lazy page is installed
     *     (a streamed restore, once its stream is in), or it has {@linkplain #settled() settled}
     */
    public boolean readsNoMorePages() {
        LazyPagesServer s = server;
        return s != null && (settled() || s.stats().lazyPagesRemaining() == 0 && workingSetSaved());
    }

    /** @return whether no working set is being stored (storing one reads the page source) */
    private boolean workingSetSaved() {
        java.util.concurrent.CompletableFuture<Void> pending = saving;
        return pending == null || pending.isDone();
    }

    /** Called once the instance's processes have exited, or when the restore failed to start. */
    @Override
    public void close() {
        exited = true;
        if (server != null) {
            server.closeAfterExit();
        } else if (socket != null) {
            socket.close(); // the restore failed before its daemon started
        }
        release();
        repository.liveRestores().remove(this);
    }

    /** Frees the page source (after a working set being stored has read it) and the prefetch arena (after its fetch). */
    private void release() {
        PageSource s = source;
        if (s != null && sourceReleased.compareAndSet(false, true)) {
            java.util.concurrent.CompletableFuture<Void> pending = saving;
            if (pending == null) {
                s.close();
            } else {
                pending.whenComplete((done, failure) -> s.close());
            }
        }
        if (arenaReleased.compareAndSet(false, true)) {
            CompletableFuture<MemorySegment> fetching = prefetchBytes;
            if (fetching != null && !fetching.isDone()) {
                fetching.whenComplete((bytes, failure) -> arena.close()); // the fetch writes into it until then
            } else {
                arena.close();
            }
        }
    }
}
