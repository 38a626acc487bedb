package dev.thaw.lazy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/*
 * Design
 * ======
 *
 * What it talks to. `criu restore --lazy-pages -W <work>` connects to <work>/lazy-pages.socket and
 * hands over, per restored task, the task's userfaultfd (see RestoreConnection). The restorer has
 * registered the task's lazy mappings (anonymous private memory whose pagemap entries carry
 * PE_LAZY) in "missing" mode: the first touch of each page blocks the touching thread and queues a
 * 32-byte uffd_msg on that fd, until the daemon installs the page (UFFDIO_COPY, which also wakes
 * the thread) or the zero page (UFFDIO_ZEROPAGE). The uffds were opened with the non-cooperative
 * features, so the same fd also reports FORK (with a new uffd for the child), REMAP (mremap),
 * REMOVE (madvise DONTNEED/REMOVE) and UNMAP; the task that caused such an event waits until it is
 * read. CRIU sends "RSTF" once every task is restored, while the tasks are still stopped, and lets
 * them run right after.
 *
 * Threading. One platform thread per restore runs a poll(2) loop over an eventfd (to be woken by
 * close(), finishInBackground() and a completing prefetch), the socket and every task's uffd; it
 * reads only what poll reported ready. All state belongs to that thread, so there are no locks and
 * no volatile writes on the fault path; stats() reads an immutable snapshot the loop publishes after
 * each turn (about 0.1 µs, against a round trip of 10 to 100 µs). It is a platform thread because it
 * spends its life in native calls (poll, ioctl) that would pin a virtual thread anyway.
 *
 * The fault path. One read(2) returns every queued uffd_msg (up to 64); after handling them the
 * loop reads again until EAGAIN (at most 16 reads per wake-up), so faults raised meanwhile by other
 * threads need no trip through poll. A one-page fault allocates nothing: it reads into a fixed slice
 * of the page buffer and UFFDIO_COPY takes a raw address. Measured with ftrace (FaultTraceTest), the
 * daemon's own work is 5-6 µs of a fault's round trip: 3 µs of Java, page source and uffd read before
 * the copy, 2-3 µs of UFFDIO_COPY. The rest is scheduling. On a VM it depends on where the
 * scheduler puts the daemon and the faulting thread: on one vCPU a round trip is about 11 µs; on two,
 * each wake-up of a sleeping thread on an idle (halted) vCPU costs 30-50 µs, and UFFDIO_COPY 20 µs
 * (it sends the IPI), so about 100 µs. Options.spinAfterFault keeps the daemon polling (poll with no
 * timeout, then sched_yield) for a while after a fault, so its vCPU does not halt and it sees the next
 * fault without being woken: about 40% less on two vCPUs, but 30-50% more on one (the spin competes
 * with the faulting thread, even though it yields). So it is off by default.
 *
 * State. Per task a LazyRanges: the lazy ranges still to be served, each inside one pagemap entry
 * and one VMA (a UFFDIO_COPY may not cross VMAs), with a done bit per page. FORK copies the parent's
 * ranges (the child lacks exactly what the parent lacked), REMAP moves them, REMOVE/UNMAP drop them
 * (such pages read as zero from then on; for REMOVE the range is also unregistered, as CRIU's own
 * daemon does, because the mapping stays and the kernel should zero-fill it without asking us).
 *
 * Ordering. The messages of one read are handled non-fault events first, then faults. A fault
 * read in the same batch as, say, the REMAP that moved its page was raised before the move, so its
 * thread raced its own program; answering it after the event keeps our ranges consistent with the
 * kernel's VMAs, which matters for the rule below.
 *
 * Errors from the kernel. EEXIST: the page is already there (installed by a batch or by another
 * thread's fault); wake the faulting thread and go on. EAGAIN: the task's mappings are changing and
 * an event is about to be read; retry the fault after the next events. ENOENT: no registered mapping
 * covers the range; for a batch it may just cross a VMA split by mprotect (no event for that), so
 * retry page by page; for a single page, since every event was already applied, the page is
 * unreachable and is dropped. ESRCH/ENOSPC: the task's memory is gone (there is no exit event);
 * close its uffd and forget it.
 *
 * Failure. If the page source fails, the daemon must neither answer the fault with zeros or stale
 * bytes nor close the uffd (closing unregisters the ranges and the task would silently run on zero
 * pages). It calls the failure handler once, with the pid, address and cause, and stops serving with
 * every uffd still open: the faulting threads stay blocked until the node kills the instance.
 *
 * Prefetch (REAP). Installing needs the task's lazy mappings registered. The restorer registers
 * them all in one loop (remap each VMA to its place, UFFDIO_REGISTER it) before anything touches
 * task memory, so a task's first fault proves it; RSTF proves it for every task. From then on the
 * prefetched working set is installed in working-set order, up to 4 MB per ioctl and per loop turn,
 * overlapping the end of CRIU's restore. Faults keep priority between pieces: a fault on a
 * working-set page not installed yet is answered from the prefetched bytes (64 pages at once),
 * anything else from the page source. So the tasks run while the rest of their working set is going
 * in, instead of waiting for all of it. If the bytes are not there yet, faults are served from the
 * source until they arrive; if fetching them failed, everything is served on demand. Bytes that
 * arrive front to back (LazyPages.Arrival, the store's readInto) are installed as they arrive, the
 * fetcher waking the loop for each chunk; a piece is only handed out once all its bytes are there, and
 * a fault is only answered from prefetched bytes that are. Installed pages are marked done and never
 * fetched again.
 *
 * Recording. Every page installed on demand from the source (the faulting page and its fault-around)
 * is appended, at its image address (so mremap does not matter), to the Recorder's runs.
 *
 * Streaming (stream-all) and finishing. Both install every page still lazy, one piece of up to 4 MB
 * of the page file per loop turn, so a fault waits for at most one piece: LazyRanges.nextFileSpan
 * starts at the lowest page-file offset not installed yet and goes on across ranges that follow each
 * other in the file (done pages in between are read too), so the source sees one sequential read per
 * piece, in increasing offset order, which a read-ahead source serves cheaply; then one UFFDIO_COPY per
 * run of pages not installed yet, in every task of that image (a forked child lacks what its parent
 * lacked, and gets the same bytes). Stream-all starts as soon as a task's mappings are registered
 * (the prefetch's rule) and after the prefetched working set, if any; finishInBackground() starts
 * once CRIU finished restoring. Once every lazy page is installed (and CRIU finished), the loop closes
 * the uffds and ends: the instance then no longer depends on the page source or on this daemon.
 *
 * Installed up front. awaitInstalled() waits on a latch the loop counts down when the prefetch is
 * settled (installed, or its bytes failed or came short, which is decided as soon as its future
 * completes, before any fault) and, with stream-all, the stream completed; or when the loop ends or
 * CRIU hung up before "restore finished" (then it answers false). The loop publishes its stats before
 * counting down, so a caller that returns from awaitInstalled sees them.
 */

/** The lazy-pages daemon behind {@link LazyPages#start}; see the design notes at the top of this file. */
final class LazyPagesDaemon implements LazyPagesServer {
    private static final System.Logger LOG = System.getLogger(LazyPagesDaemon.class.getName());
    static final String SOCKET_NAME = "lazy-pages.socket";
    private static final int PAGE = Userfaultfd.PAGE_SIZE;
    /** Pages a fault outside the lazy pages zero-fills at most (2 MiB), when its hole cannot be unregistered. */
    private static final int ZERO_AROUND_PAGES = 512;
    /** How far from a fault a hole it unregisters may reach either way (the JVM reserves up to a few GB). */
    private static final long MAX_HOLE_BYTES = 4L << 30;
    /** The smallest stretch from a fault up worth unregistering; below it, zero pages are mapped instead. */
    private static final long MIN_HOLE_BYTES = 64L * Userfaultfd.PAGE_SIZE;
    /** The end of x86_64 user space with 4-level page tables: ranges past it are refused. */
    private static final long USER_SPACE_END = 0x7ffffffff000L;
    private static final int BATCH_PAGES = LazyPages.MAX_FAULT_AROUND_PAGES;
    private static final int EVENTS_PER_READ = 64;
    /** Reads of one uffd per poll wake-up, at most: see {@link #handleEvents}. */
    private static final int READS_PER_WAKEUP = 16;
    /** Pages a fault on a prefetched page installs: 256 KB, copied in well under a millisecond. */
    private static final int PREFETCH_FAULT_PAGES = 64;
    private static final int POLLFD_SIZE = 8;
    private static final int WAKE_SLOT = 0;
    private static final int SOCKET_SLOT = 1;
    private static final int FIRST_TASK_SLOT = 2;

    private final LazyPages.Options options;
    private final Path socket;
    private final Arena arena = Arena.ofShared();
    private final Libc libc;
    private final Libc wakeLibc;
    /** Written to the eventfd by {@link #wake()}, under the lock of {@link #wakeLibc}. */
    private final MemorySegment wakeValue;
    /** Where the loop drains the eventfd into; separate, so a concurrent wake() cannot write what it reads. */
    private final MemorySegment wakeDrain;
    private final Userfaultfd uffd;
    private final MemorySegment pageBuffer;
    private final MemorySegment eventBuffer;
    private final List<Task> tasks = new ArrayList<>();
    private final Recorder recorder = new Recorder();
    private final CountDownLatch restoredOrEnded = new CountDownLatch(1);
    /** Counted down once everything to install up front is installed, or the loop ended, or the restore failed. */
    private final CountDownLatch installedOrEnded = new CountDownLatch(1);
    private final AtomicBoolean failureReported = new AtomicBoolean();
    private final AtomicBoolean closeCalled = new AtomicBoolean();
    private final long startNanos;
    private final Thread thread;
    private final boolean streamAll;
    /** {@link LazyPages.Options#spinAfterFault()} in nanoseconds. */
    private final long spinNanos;
    /** The first page of {@link #pageBuffer}: what a one-page fault reads into, without allocating a slice. */
    private final MemorySegment onePage;

    private int listenFd;
    private final int wakeFd;
    private RestoreConnection connection;
    private MemorySegment pollFds;
    private Task[] polledTasks = new Task[0];
    private int[] polledFds = new int[0];
    /** The prefetch's bytes are not there yet (or not looked at yet). */
    private boolean prefetchPending;
    private boolean prefetchHooked;
    private Prefetched prefetched;
    /** The prefetch's bytes as they arrive, when the fetcher reports them; else null. */
    private final LazyPages.Arrival arrival;
    /** All of the prefetch's bytes are there: every offset of {@link #prefetched} may be read. */
    private boolean prefetchComplete;
    private boolean prefetchInstalling;
    /** The prefetch is done with: installed, or its bytes failed and its pages are served on demand. */
    private boolean prefetchSettled;
    /** Time spent installing the prefetch so far; published as prefetchInstallNanos once it is all in. */
    private long prefetchInstallWorkNanos;
    private boolean tasksExited;
    private boolean freed;

    private volatile boolean closing;
    private volatile boolean finishing;
    private volatile boolean restored;
    /** Everything to install up front is installed: what {@link #awaitInstalled} reports. */
    private volatile boolean installed;
    /** Completed as the serving thread ends, whatever the reason. */
    private final CompletableFuture<Void> ended = new CompletableFuture<>();
    /** Set by {@link #closeAfterExit()}: the caller says the tasks are dead. */
    private volatile boolean closedAfterExit;
    private volatile String failure;
    /** What {@link #stats()} returns: published by the loop after each turn, so it is consistent. */
    private volatile Stats published;

    // counters: written by the loop thread only, read through published snapshots
    private boolean finished;
    private boolean streamComplete;
    private int taskCount;
    private long faultsServed;
    private long pagesServedOnDemand;
    private long zeroPagesServed;
    private long mappingEvents;
    private long pagesInstalledUpFront;
    private long faultsServedFromPrefetch;
    private long pagesCopiedInBackground;
    private long pagesStreamed;
    private long bytesFromSource;
    private long sourceReadNanos;
    private long prefetchInstallNanos;
    private long restoredAtNanos = -1;
    private long firstFaultAtNanos = -1;
    private long installedAtNanos = -1;
    private long faultHandlingNanos;
    /** When the loop last handled uffd messages, for {@link #spinNanos}; valid once {@link #handledAny}. */
    private long lastFaultNanos;
    private boolean handledAny;

    // results of the last install(), read right after it by the same thread
    private int lastInstalled;
    private boolean lastFirstCopied;
    private boolean lastAgain;

    private LazyPagesDaemon(LazyPages.Options options) {
        this.options = options;
        this.socket = options.workDir().toAbsolutePath().resolve(SOCKET_NAME);
        this.libc = new Libc(arena);
        this.wakeLibc = new Libc(arena);
        this.wakeValue = arena.allocate(ValueLayout.JAVA_LONG);
        this.wakeDrain = arena.allocate(ValueLayout.JAVA_LONG);
        this.uffd = new Userfaultfd(libc, arena);
        this.pageBuffer = LazyPages.pageMemory((long) BATCH_PAGES * PAGE, arena); // 4 MB a restore, populated by run()
        this.onePage = pageBuffer.asSlice(0, PAGE);
        this.streamAll = options.streamAll();
        this.spinNanos = options.spinAfterFault().toNanos();
        this.eventBuffer = arena.allocate((long) EVENTS_PER_READ * Userfaultfd.MSG_SIZE, 8);
        this.pollFds = arena.allocate(16L * POLLFD_SIZE, 8);
        this.prefetchPending = options.prefetch().isPresent();
        this.arrival = options.prefetch().flatMap(LazyPages.Prefetch::arrival).orElse(null);
        this.startNanos = options.nanoTime().getAsLong();
        this.published = new Stats(0, 0, 0, 0, 0, 0, 0, 0, 0, Duration.ZERO, Duration.ZERO, Optional.empty(), Optional.empty(),
                0, false, Optional.empty(), 0, false, Optional.empty(), Duration.ZERO);
        this.thread = new Thread(this::run, "thaw-lazy-pages " + options.workDir().getFileName());
        this.thread.setDaemon(true);
        this.listenFd = -1;
        this.wakeFd = libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (wakeFd < 0) {
            arena.close();
            throw new LazyPagesException("cannot create an eventfd: " + Libc.errnoName(-wakeFd));
        }
    }

    /**
     * @param bound the socket CRIU connects to, bound by the caller; null to bind it here (it is adopted
     *     either way: closed and unlinked by this daemon)
     */
    static LazyPagesServer start(LazyPages.Options options, LazyPagesSocket bound) {
        LazyPagesDaemon d;
        try {
            d = new LazyPagesDaemon(options);
        } catch (RuntimeException e) {
            if (bound != null) {
                bound.close();
            }
            throw e;
        }
        try {
            LazyPagesSocket socket = bound != null ? bound : LazyPagesSocket.listen(options.workDir());
            if (!socket.path().equals(d.socket)) {
                socket.close();
                throw new IllegalArgumentException("the lazy-pages socket " + socket.path() + " is not in the work directory "
                        + options.workDir());
            }
            d.listenFd = socket.adopt();
        } catch (RuntimeException e) {
            d.freeResources();
            throw e;
        }
        d.thread.start();
        return d;
    }

    // ---------------------------------------------------------------- public API

    @Override
    public Path socket() {
        return socket;
    }

    @Override
    public boolean awaitRestored(Duration timeout) {
        await(restoredOrEnded, timeout);
        return restored;
    }

    @Override
    public boolean awaitInstalled(Duration timeout) {
        if (options.prefetch().isEmpty() && !streamAll) {
            return true; // nothing to install up front
        }
        await(installedOrEnded, timeout);
        return installed;
    }

    /** Waits for the latch at most {@code timeout}; an interrupt ends the wait and stays set. */
    private static void await(CountDownLatch latch, Duration timeout) {
        try {
            latch.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public Stats stats() {
        Stats last = published;
        String failed = failure; // may be set after the last snapshot, by close()
        return failed == null || last.failure().isPresent() ? last : withFailure(last, failed);
    }

    @Override
    public WorkingSet recorded() {
        return recorder.snapshot();
    }

    @Override
    public void finishInBackground() {
        finishing = true;
        wake();
    }

    @Override
    public java.util.concurrent.CompletionStage<Void> whenEnded() {
        return ended.minimalCompletionStage();
    }

    @Override
    public void close() {
        if (!closeCalled.compareAndSet(false, true)) {
            return;
        }
        closing = true;
        wake();
        joinThread();
        if (closedAfterExit) {
            LOG.log(System.Logger.Level.DEBUG, "lazy-pages server for {0} closed after its tasks exited", options.workDir());
        } else {
            reportPagesStillMissing();
        }
        freeResources();
    }

    @Override
    public void closeAfterExit() {
        closedAfterExit = true;
        close();
    }

    @Override
    public String toString() {
        return "LazyPagesServer[" + socket + "]";
    }

    // ---------------------------------------------------------------- setup and teardown

    /** @throws LazyPagesException naming {@code what} and the errno when {@code result} is one ({@link Libc}'s convention) */
    static void check(long result, String what) {
        if (result < 0) {
            throw new LazyPagesException(what + " failed: " + Libc.errnoName((int) -result));
        }
    }

    private void joinThread() {
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Called after the thread ended: a live task still lacking pages would read zeros once its uffd
     * is closed, so the node has to hear about it first.
     */
    private void reportPagesStillMissing() {
        List<String> missing = new ArrayList<>();
        for (Task t : tasks) {
            if (!t.exited && t.lazy.remaining() > 0 && isAlive(t)) {
                missing.add(t + " (" + t.lazy.remaining() + " pages)");
            }
        }
        if (!missing.isEmpty()) {
            fail("lazy-pages server for " + options.workDir() + " closed while " + String.join(", ", missing)
                    + " still lacked lazy pages: the instance must be killed, it would read zeros");
        }
    }

    /** Asks the kernel for the zero page where a page is known installed: EEXIST if the task lives, ESRCH if not. */
    private boolean isAlive(Task t) {
        if (t.probeAddress < 0) {
            return true;
        }
        int rc = uffd.zeropage(t.uffd, t.probeAddress, PAGE);
        return rc != -Libc.ESRCH && rc != -Libc.ENOSPC;
    }

    private void freeResources() {
        synchronized (wakeLibc) {
            if (freed) {
                return;
            }
            freed = true;
            for (Task t : tasks) {
                closeUffd(t);
            }
            tasks.clear();
            if (connection != null) {
                connection.unclaimedFds().forEach(libc::close);
                libc.close(connection.fd());
            }
            if (listenFd >= 0) {
                libc.close(listenFd);
            }
            libc.close(wakeFd);
            arena.close();
        }
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot delete " + socket + ": " + e);
        }
    }

    private void wake() {
        synchronized (wakeLibc) {
            if (!freed) {
                wakeValue.set(ValueLayout.JAVA_LONG, 0, 1L);
                wakeLibc.write(wakeFd, wakeValue, 8);
            }
        }
    }

    // ---------------------------------------------------------------- the loop

    private void run() {
        try {
            LazyPages.populate(pageBuffer); // here rather than in start(): CRIU is starting meanwhile
            serve();
        } catch (ServeFailure f) {
            fail(f.getMessage());
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, "lazy-pages daemon for " + options.workDir() + " failed", t);
            fail("lazy-pages daemon for " + options.workDir() + " failed: " + t);
        } finally {
            publishStats();
            restoredOrEnded.countDown();
            installedOrEnded.countDown();
            ended.complete(null);
        }
    }

    private void serve() {
        resolvePrefetch(); // hooks the bytes' completion, so a failed fetch is known before the first fault
        updateInstalled();
        while (!closing) {
            int count = preparePoll();
            int timeout = pollTimeoutMillis();
            // spin only when idle otherwise (no batch to install, no deferred fault, no prefetch to look at)
            boolean spinning = timeout < 0 && spinNanos > 0 && handledAny && now() - lastFaultNanos < spinNanos;
            int ready = libc.poll(pollFds, count, spinning ? 0 : timeout);
            if (ready == -Libc.EINTR) {
                continue;
            }
            if (ready == 0 && spinning) {
                libc.schedYield();
                continue;
            }
            if (ready < 0) {
                throw new IllegalStateException("poll failed: " + Libc.errnoName(-ready));
            }
            if (closing) {
                return;
            }
            handleReady(count);
            retryDeferredFaults();
            resolvePrefetch();
            startPrefetchWhenReady();
            if (prefetchInstalling) {
                installPrefetchChunk(); // the working set first, then the rest (stream-all or finishing)
            } else if (streaming()) {
                streamOneBatch();
            }
            if ((streamAll || finishing) && restored && allInstalled()) {
                releaseTasks();
                return;
            }
            updateInstalled();
            publishStats();
        }
    }

    /** Fills the pollfd array; rebuilds the task slots only when the tasks or their descriptors changed. */
    private int preparePoll() {
        int count = FIRST_TASK_SLOT + tasks.size();
        if (pollFds.byteSize() < (long) count * POLLFD_SIZE) {
            pollFds = arena.allocate((long) count * 2 * POLLFD_SIZE, 8);
            polledTasks = new Task[0]; // new memory: every slot must be written
        }
        setPollFd(WAKE_SLOT, wakeFd);
        setPollFd(SOCKET_SLOT, connection != null ? (connection.closed() ? -1 : connection.fd()) : listenFd);
        if (!pollSlotsCurrent()) {
            polledTasks = tasks.toArray(new Task[0]);
            polledFds = new int[polledTasks.length];
            for (int i = 0; i < polledTasks.length; i++) {
                polledFds[i] = polledTasks[i].uffd;
                setPollFd(FIRST_TASK_SLOT + i, polledFds[i]);
            }
        }
        return count;
    }

    private boolean pollSlotsCurrent() {
        if (polledTasks.length != tasks.size()) {
            return false;
        }
        for (int i = 0; i < polledTasks.length; i++) {
            Task t = tasks.get(i);
            if (polledTasks[i] != t || polledFds[i] != t.uffd) {
                return false;
            }
        }
        return true;
    }

    private void setPollFd(int slot, int fd) {
        long at = (long) slot * POLLFD_SIZE;
        pollFds.set(ValueLayout.JAVA_INT, at, fd); // a negative fd is ignored by poll
        pollFds.set(ValueLayout.JAVA_SHORT, at + 4, Libc.POLLIN);
        pollFds.set(ValueLayout.JAVA_SHORT, at + 6, (short) 0);
    }

    private short revents(int slot) {
        return pollFds.get(ValueLayout.JAVA_SHORT, (long) slot * POLLFD_SIZE + 6);
    }

    private int pollTimeoutMillis() {
        if ((prefetchInstalling && prefetched.nextAvailable(prefetchAvailable())) || streaming()) {
            return 0; // installing in batches: just look for faults between them
        }
        boolean deferred = false;
        for (Task t : tasks) {
            deferred |= !t.deferredFaults.isEmpty();
        }
        boolean awaitingPrefetch = prefetchPending && !prefetchHooked; // a Future that cannot say when it is done
        return deferred || awaitingPrefetch ? 1 : -1;
    }

    private void handleReady(int count) {
        if (revents(WAKE_SLOT) != 0) {
            libc.read(wakeFd, wakeDrain, 8);
        }
        if (revents(SOCKET_SLOT) != 0) {
            handleSocket();
        }
        long start = 0;
        boolean handled = false;
        for (int slot = FIRST_TASK_SLOT; slot < count; slot++) {
            Task t = polledTasks[slot - FIRST_TASK_SLOT];
            if (revents(slot) != 0 && !t.exited) {
                if (!handled) {
                    start = now();
                    handled = true;
                }
                handleEvents(t);
            }
        }
        if (handled) {
            lastFaultNanos = now();
            handledAny = true;
            faultHandlingNanos += lastFaultNanos - start;
        }
        removeExitedTasks();
    }

    private void removeExitedTasks() {
        if (tasksExited) {
            tasksExited = false;
            tasks.removeIf(t -> t.exited);
        }
    }

    // ---------------------------------------------------------------- the socket

    private void handleSocket() {
        if (connection == null) {
            int fd = libc.accept4(listenFd, Libc.SOCK_CLOEXEC | Libc.SOCK_NONBLOCK);
            if (fd == -Libc.EAGAIN || fd == -Libc.EINTR) {
                return;
            }
            check(fd, "accept on " + socket);
            connection = new RestoreConnection(libc, arena, fd);
            libc.close(listenFd); // CRIU connects once
            listenFd = -1;
            return;
        }
        connection.readAvailable(new RestoreConnection.Listener() {
            @Override
            public void task(int pid, int fd) {
                addTask(pid, fd);
            }

            @Override
            public void zombie(int pid) {
                LOG.log(System.Logger.Level.DEBUG, "zombie pid {0} has no memory to serve", pid);
            }

            @Override
            public void restoreFinished() {
                restoredAtNanos = now();
                restored = true;
                tasks.forEach(t -> t.registered = true);
                publishStats();
                restoredOrEnded.countDown();
            }
        });
        if (connection.closed() && !restored) {
            LOG.log(System.Logger.Level.WARNING, "criu closed " + socket + " before the restore finished (it failed)");
            restoredOrEnded.countDown();
            installedOrEnded.countDown(); // nothing will be installed: awaitInstalled answers false now
        }
    }

    private void addTask(int pid, int fd) {
        if (!options.index().hasTask(pid)) {
            Task orphan = new Task(pid, "pid " + pid, fd, new LazyRanges());
            tasks.add(orphan); // keep its uffd open: closing it would let the task read zeros
            throw new ServeFailure("CRIU restores pid " + pid + ", which has no pagemap in " + options.index().directory());
        }
        tasks.add(new Task(pid, "pid " + pid, fd, LazyRanges.of(options.index(), pid)));
        taskCount++;
    }

    // ---------------------------------------------------------------- uffd events

    /**
     * Reads and handles the task's messages until there are none (the uffd is non-blocking): one read
     * returns every message queued (up to 64), and another read after handling them picks up the
     * faults raised meanwhile (other threads, and the ones just answered) without a trip through poll.
     * At most {@link #READS_PER_WAKEUP} reads, so one busy task cannot starve the others.
     */
    private void handleEvents(Task t) {
        for (int reads = 0; reads < READS_PER_WAKEUP && !t.exited; reads++) {
            long n = libc.read(t.uffd, eventBuffer, eventBuffer.byteSize());
            if (n == -Libc.EAGAIN) {
                return;
            }
            if (n == -Libc.EINTR) {
                continue;
            }
            if (n < 0) {
                throw new ServeFailure("reading the userfaultfd of " + t + " failed: " + Libc.errnoName((int) -n));
            }
            int messages = (int) (n / Userfaultfd.MSG_SIZE);
            handleNonFaultEvents(t, messages);
            handleFaults(t, messages);
        }
    }

    private int event(int message) {
        return Byte.toUnsignedInt(eventBuffer.get(ValueLayout.JAVA_BYTE, (long) message * Userfaultfd.MSG_SIZE));
    }

    private long field(int message, long offset) {
        return eventBuffer.get(ValueLayout.JAVA_LONG, (long) message * Userfaultfd.MSG_SIZE + offset);
    }

    private void handleNonFaultEvents(Task t, int messages) {
        for (int m = 0; m < messages; m++) {
            if (event(m) == Userfaultfd.EVENT_PAGEFAULT || (t.exited && event(m) != Userfaultfd.EVENT_FORK)) {
                continue; // a FORK still counts after its parent went: its message carries a new fd to track
            }
            mappingEvents++;
            switch (event(m)) {
                case Userfaultfd.EVENT_FORK -> onFork(t, (int) field(m, Userfaultfd.MSG_FORK_UFD));
                case Userfaultfd.EVENT_REMAP -> onRemap(t, field(m, Userfaultfd.MSG_REMAP_FROM),
                        field(m, Userfaultfd.MSG_REMAP_TO), field(m, Userfaultfd.MSG_REMAP_LEN));
                case Userfaultfd.EVENT_REMOVE -> onRemove(t, field(m, Userfaultfd.MSG_REMOVE_START),
                        field(m, Userfaultfd.MSG_REMOVE_END));
                case Userfaultfd.EVENT_UNMAP -> onUnmap(t, field(m, Userfaultfd.MSG_REMOVE_START),
                        field(m, Userfaultfd.MSG_REMOVE_END));
                default -> throw new ServeFailure("unexpected userfaultfd event 0x" + Integer.toHexString(event(m))
                        + " from " + t);
            }
        }
    }

    private void handleFaults(Task t, int messages) {
        for (int m = 0; m < messages && !t.exited; m++) {
            if (event(m) == Userfaultfd.EVENT_PAGEFAULT) {
                onPageFault(t, field(m, Userfaultfd.MSG_PAGEFAULT_ADDRESS) & Userfaultfd.PAGE_MASK);
            }
        }
    }

    private void onFork(Task parent, int childUffd) {
        Task child = new Task(parent.imagePid, parent.name + "/child" + (taskCount + 1), childUffd, parent.lazy.copy());
        child.registered = true;
        tasks.add(child);
        taskCount++;
    }

    private void onRemap(Task t, long from, long to, long length) {
        t.lazy.remap(from, to, length);
        forgetProbeIn(t, from, from + length);
        forgetProbeIn(t, to, to + length);
    }

    private void onRemove(Task t, long start, long end) {
        // the mapping stays: unregister so the kernel zero-fills it from now on, as CRIU's daemon does
        int rc = uffd.unregister(t.uffd, start, end - start);
        if (rc == -Libc.ENOMEM || rc == -Libc.ESRCH) {
            taskGone(t);
            return;
        }
        if (rc < 0) {
            LOG.log(System.Logger.Level.WARNING, "cannot unregister 0x{0}-0x{1} of {2}: {3}; its faults get zero pages",
                    Long.toHexString(start), Long.toHexString(end), t, Libc.errnoName(-rc));
        }
        t.lazy.drop(start, end);
        forgetProbeIn(t, start, end);
    }

    private void onUnmap(Task t, long start, long end) {
        t.lazy.drop(start, end);
        forgetProbeIn(t, start, end);
    }

    private static void forgetProbeIn(Task t, long start, long end) {
        if (t.probeAddress >= start && t.probeAddress < end) {
            t.probeAddress = -1;
        }
    }

    // ---------------------------------------------------------------- faults

    private void onPageFault(Task t, long page) {
        if (firstFaultAtNanos < 0) {
            firstFaultAtNanos = now();
        }
        t.registered = true;
        LazyRanges.Range r = t.lazy.find(page);
        if (r == null) {
            serveOutsideLazyPages(t, page);
            return;
        }
        if (r.isDone(page)) {
            uffd.wake(t.uffd, page, PAGE); // installed since the fault was raised
            return;
        }
        if (serveFromPrefetch(t, r, page)) {
            return;
        }
        int pages = r.pendingRun(page, faultAroundPages(r, page));
        long imageAddress = r.imageAddress(page);
        MemorySegment bytes = readSource(t, r, page, pages, "fault at ");
        install(t, page, bytes, 0, pages);
        if (lastAgain && !lastFirstCopied) {
            t.deferredFaults.add(page);
            return;
        }
        if (!lastFirstCopied && !t.exited) {
            uffd.wake(t.uffd, page, PAGE); // it was there or is unreachable: let the thread fault again
        }
        if (lastInstalled > 0) {
            faultsServed++;
            pagesServedOnDemand += lastInstalled;
            if (options.record() && lastFirstCopied) {
                recorder.record(t.imagePid, imageAddress, lastInstalled);
            }
        }
    }

    /**
     * How many pages a fault at {@code page} installs. While streaming every page (eager), a fault
     * is on a page the stream has not reached yet, and its whole piece of the source (a 512 KiB chunk
     * of the store) is read and decrypted to answer it: installing one page from it left the rest for
     * the stream, which by then often had to fetch the chunk again (the page source keeps 64 MiB).
     * A Spring Boot eager restore fetched 570-645 MB for its 184 MB image, with 200-450 faults. So
     * then a fault installs the pages still lazy from it to the end of its piece; they are going in
     * anyway. Otherwise (lazy, REAP) a fault installs what the options say.
     */
    private int faultAroundPages(LazyRanges.Range r, long page) {
        long unit = options.source().readUnit();
        if (!streamAll || unit < PAGE) {
            return options.faultAroundPages();
        }
        long toUnitEnd = (unit - r.fileOffset(page) % unit) / PAGE;
        return (int) Math.min(BATCH_PAGES, Math.max(options.faultAroundPages(), toUnitEnd));
    }

    /**
     * Answers a fault outside the task's lazy pages: memory the process had not touched when it was
     * dumped, such as a JVM's eden and fresh TLABs, or a glibc arena that grows a page at a time
     * (mprotect, so each new page is the end of its VMA). The kernel would zero-fill such a page
     * itself; only the registration makes it ask this thread, ~100 µs a round trip. One zero page
     * per fault cost the json workload ~480 round trips per invocation (50-100 ms).
     *
     * <p>So the whole hole around the fault, from the end of the lazy range below to the start of
     * the one above, is unregistered: the kernel handles its faults from then on, and wakes the
     * threads waiting in it. Holding no lazy page, the hole has nothing this daemon must still
     * install (a range moved into it by mremap brings its own registration). UFFDIO_UNREGISTER
     * refuses a span holding a mapping that userfaultfd cannot track (a file mapping: EINVAL; the
     * ranges do not know where VMAs end at run time), so then the part from the fault up is tried,
     * halved until it is accepted (a glibc arena ends at its 64 MB boundary, short of the next lazy
     * range), and failing that the zero page is mapped over the fault and the pages after it.
     */
    private void serveOutsideLazyPages(Task t, long page) {
        long above = Math.min(Math.min(t.lazy.nextStartAfter(page), page + MAX_HOLE_BYTES), USER_SPACE_END);
        long below = Math.max(t.lazy.previousEndAtOrBelow(page), Math.max(0, page - MAX_HOLE_BYTES));
        int rc = uffd.unregister(t.uffd, below, above - below);
        long len = above - page;
        if (below == page) {
            len = (len / 2) & Userfaultfd.PAGE_MASK; // the span from the fault up is the one just refused
        }
        for (; rc == -Libc.EINVAL && len >= MIN_HOLE_BYTES; len = (len / 2) & Userfaultfd.PAGE_MASK) {
            rc = uffd.unregister(t.uffd, page, len);
        }
        if (rc == 0) {
            uffd.wake(t.uffd, page, PAGE); // the kernel woke the hole's waiters already; a second wake is harmless
            zeroPagesServed++;
        } else if (rc == -Libc.ESRCH) {
            taskGone(t);
        } else {
            installZeroPages(t, page, above - page);
        }
    }

    /** Maps the zero page from {@code page} on, halving the stretch until it fits in one VMA (ENOENT otherwise). */
    private void installZeroPages(Task t, long page, long bytes) {
        long len = Math.min(bytes, (long) ZERO_AROUND_PAGES * PAGE);
        int rc = uffd.zeropage(t.uffd, page, len);
        while (rc == -Libc.ENOENT && len > PAGE) {
            len = Math.max(PAGE, (len / 2) & Userfaultfd.PAGE_MASK);
            rc = uffd.zeropage(t.uffd, page, len);
        }
        if (rc == 0 || (rc == -Libc.EEXIST && uffd.lastDone() > 0)) {
            zeroPagesServed++;
        } else if (rc == -Libc.EAGAIN) {
            t.deferredFaults.add(page);
        } else if (rc == -Libc.EEXIST || rc == -Libc.ENOENT) {
            uffd.wake(t.uffd, page, PAGE);
        } else if (rc == -Libc.ESRCH || rc == -Libc.ENOSPC) {
            taskGone(t);
        } else {
            throw new ServeFailure("UFFDIO_ZEROPAGE at 0x" + Long.toHexString(page) + " of " + t + " failed: "
                    + Libc.errnoName(-rc));
        }
    }

    private void retryDeferredFaults() {
        for (Task t : tasks) {
            int pending = t.deferredFaults.size();
            for (int i = 0; i < pending && !t.exited; i++) {
                onPageFault(t, t.deferredFaults.poll());
            }
        }
        removeExitedTasks();
    }

    /**
     * Reads {@code pages} pages at {@code address} of a range from the page source into the page
     * buffer. A failure of the source ends serving (see the design notes): the fault stays unanswered.
     *
     * @param why what the read is for, completed with the address in the failure message
     */
    private MemorySegment readSource(Task t, LazyRanges.Range r, long address, int pages, String why) {
        MemorySegment dst = pages == 1 ? onePage : pageBuffer.asSlice(0, (long) pages * PAGE);
        long offset = r.fileOffset(address);
        long start = now();
        try {
            options.source().read(r.pagesId, offset, dst);
        } catch (RuntimeException e) {
            throw new ServeFailure(String.format("page source failed for %s, %s0x%x: reading %d pages at offset %d of pages-%d.img"
                    + " (image address 0x%x): %s", t, why, address, pages, offset, r.pagesId, r.imageAddress(address), e), e);
        }
        sourceReadNanos += now() - start;
        bytesFromSource += dst.byteSize();
        return dst;
    }

    /**
     * Installs {@code pages} pages at {@code address} from {@code src} at {@code srcOffset} with
     * UFFDIO_COPY, all inside one range. Sets {@link #lastInstalled} to the pages copied,
     * {@link #lastFirstCopied} when the page at {@code address} was among them, and {@link #lastAgain}
     * when the kernel asked to retry later; pages that turned out present or unreachable are settled
     * without being counted.
     */
    private void install(Task t, long address, MemorySegment src, long srcOffset, int pages) {
        lastInstalled = 0;
        lastAgain = false;
        lastFirstCopied = false;
        java.util.Objects.checkFromIndexSize(srcOffset, (long) pages * PAGE, src.byteSize());
        long srcAddress = src.address() + srcOffset;
        boolean onePageAtATime = false;
        long done = 0;
        while (done < pages && !t.exited) {
            long at = address + done * PAGE;
            LazyRanges.Range r = t.lazy.find(at);
            if (r == null || r.isDone(at)) {
                done++;
                continue;
            }
            long chunk = onePageAtATime ? 1 : pages - done;
            int rc = uffd.copy(t.uffd, at, srcAddress + done * PAGE, chunk * PAGE);
            long copied = uffd.lastDone() / PAGE;
            if (copied > 0) {
                t.lazy.markDone(r, at, (int) copied);
                t.probeAddress = at;
                lastFirstCopied |= done == 0;
                lastInstalled += (int) copied;
                done += copied;
                continue; // a partial copy reports EAGAIN; the next call on the rest tells the real error
            }
            if (rc == 0) {
                continue;
            }
            if (rc == -Libc.ENOENT && chunk > 1) {
                onePageAtATime = true; // the range now spans two mappings (mprotect splits without an event)
                continue;
            }
            done += settleCopyError(t, at, -rc);
            if (lastAgain) {
                return;
            }
        }
    }

    /** @return how many pages at {@code at} the error settled (0 when they must be retried later) */
    private int settleCopyError(Task t, long at, int errno) {
        switch (errno) {
            case Libc.EEXIST -> {
                LazyRanges.Range r = t.lazy.find(at);
                if (r != null) {
                    t.lazy.markDone(r, at, 1);
                }
                return 1;
            }
            case Libc.ENOENT -> {
                t.lazy.drop(at, at + PAGE); // no registered mapping here, and every event was applied
                return 1;
            }
            case Libc.EAGAIN -> {
                lastAgain = true;
                return 0;
            }
            case Libc.ESRCH, Libc.ENOSPC -> {
                taskGone(t);
                return 1;
            }
            default -> throw new ServeFailure("UFFDIO_COPY at 0x" + Long.toHexString(at) + " of " + t + " failed: "
                    + Libc.errnoName(errno));
        }
    }

    // ---------------------------------------------------------------- prefetch and background

    /**
     * Looks at the prefetch's bytes once they are there: usable ones wait for the tasks' mappings
     * ({@link #startPrefetchWhenReady}); failed or short ones settle the prefetch at once (its pages
     * are served on demand), whether or not a task faulted yet, so {@link #awaitInstalled} need not wait.
     */
    private void resolvePrefetch() {
        if (!prefetchPending) {
            return;
        }
        LazyPages.Prefetch prefetch = options.prefetch().orElseThrow();
        if (prefetched == null && arrival != null && arrival.segment().byteSize() >= prefetch.workingSet().bytes()) {
            prefetched = new Prefetched(prefetch.workingSet(), arrival.segment()); // installed as it arrives
            arrival.listen(this::wake);
        }
        Future<MemorySegment> future = prefetch.bytes();
        if (!future.isDone()) {
            hookPrefetchCompletion(future);
            return;
        }
        prefetchPending = false;
        Optional<MemorySegment> bytes = prefetchedBytes(prefetch);
        if (bytes.isPresent()) {
            if (prefetched == null) {
                prefetched = new Prefetched(prefetch.workingSet(), bytes.get());
            }
            prefetchComplete = true;
        } else {
            // what arrived before the failure stays usable; the rest is served on demand
            prefetchInstalling = false;
            prefetchSettled = true;
        }
    }

    /** @return how many bytes at the start of the prefetched segment may be read */
    private long prefetchAvailable() {
        return prefetchComplete || arrival == null ? Long.MAX_VALUE : arrival.arrivedBytes();
    }

    /** Once a task's mappings are registered and the prefetched bytes are there, starts installing them. */
    private void startPrefetchWhenReady() {
        if (prefetched == null || prefetchInstalling || prefetchSettled || !anyRegistered()) {
            return;
        }
        prefetchInstalling = true;
    }

    private boolean anyRegistered() {
        for (Task t : tasks) {
            if (t.registered) {
                return true;
            }
        }
        return false;
    }

    private void hookPrefetchCompletion(Future<MemorySegment> future) {
        if (!prefetchHooked && future instanceof CompletableFuture<MemorySegment> cf) {
            prefetchHooked = true;
            cf.whenComplete((bytes, error) -> wake());
        }
    }

    private Optional<MemorySegment> prefetchedBytes(LazyPages.Prefetch prefetch) {
        try {
            MemorySegment bytes = prefetch.bytes().get();
            if (bytes.byteSize() < prefetch.workingSet().bytes()) {
                LOG.log(System.Logger.Level.WARNING, "prefetched bytes are {0} bytes, the working set needs {1}: serving on demand",
                        bytes.byteSize(), prefetch.workingSet().bytes());
                return Optional.empty();
            }
            return Optional.of(bytes);
        } catch (ExecutionException | CancellationException e) {
            LOG.log(System.Logger.Level.WARNING, "prefetch of the working set failed, serving its pages on demand: " + e);
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /**
     * Installs the next pieces of the prefetched working set, up to {@link #BATCH_PAGES} pages (4 MB),
     * in every task they belong to. A batch per loop turn, so faults are served in between (a fault on
     * a prefetched page that is not installed yet is served from the same bytes, {@link #serveFromPrefetch});
     * a batch rather than a run, because most runs are a page or two and a loop turn costs a poll.
     */
    private void installPrefetchChunk() {
        long start = now();
        int budget = BATCH_PAGES;
        long available = prefetchAvailable();
        while (budget > 0) {
            if (prefetched.done()) {
                prefetchInstallNanos = Math.max(1, prefetchInstallWorkNanos + now() - start); // non-zero: "installed"
                prefetchInstalling = false;
                prefetchSettled = true;
                break;
            }
            Prefetched.Piece piece = prefetched.next(budget, available);
            if (piece == null) {
                break; // its bytes have not arrived: the fetcher wakes the loop when they do
            }
            budget -= piece.pages();
            for (Task t : tasks) {
                if (t.imagePid == piece.pid() && t.registered && !t.exited) {
                    installPiece(t, piece); // a task not registered yet gets these pages when it faults them
                }
            }
        }
        prefetchInstallWorkNanos += now() - start;
        removeExitedTasks();
    }

    /** Installs what of a piece is still lazy and where the image had it (pages moved by mremap wait for their fault). */
    private void installPiece(Task t, Prefetched.Piece piece) {
        long end = piece.imageAddress() + (long) piece.pages() * PAGE;
        long address = piece.imageAddress();
        while (address < end && !t.exited) {
            LazyRanges.Range r = t.lazy.find(address);
            if (r == null || r.imageAddress(address) != address || r.isDone(address)) {
                address += PAGE;
                continue;
            }
            int pages = r.pendingRun(address, (int) ((Math.min(end, r.end) - address) / PAGE));
            install(t, address, prefetched.bytes, piece.offset() + (address - piece.imageAddress()), pages);
            pagesInstalledUpFront += lastInstalled;
            if (lastAgain) {
                return; // mappings are changing: the rest is served when faulted
            }
            address += (long) pages * PAGE;
        }
    }

    /**
     * Serves a fault from the prefetched bytes when the page is part of the working set: a few pages
     * at once, since the working set says they are wanted next, but few enough to keep the fault short.
     *
     * @return whether the fault was handled
     */
    private boolean serveFromPrefetch(Task t, LazyRanges.Range r, long page) {
        long imageAddress = r.imageAddress(page);
        long offset = prefetched == null ? -1 : prefetched.offsetOf(t.imagePid, imageAddress);
        long available = prefetchAvailable();
        if (offset < 0 || offset + PAGE > available) {
            return false; // not prefetched, or not arrived yet: from the source
        }
        long arrivedPages = Math.min(PREFETCH_FAULT_PAGES, (available - offset) / PAGE);
        int pages = r.pendingRun(page, (int) Math.min(arrivedPages, prefetched.pagesFrom(t.imagePid, imageAddress)));
        install(t, page, prefetched.bytes, offset, pages);
        if (lastAgain && !lastFirstCopied) {
            t.deferredFaults.add(page);
            return true;
        }
        if (!lastFirstCopied && !t.exited) {
            uffd.wake(t.uffd, page, PAGE);
        }
        faultsServedFromPrefetch++;
        pagesInstalledUpFront += lastInstalled;
        return true;
    }

    /**
     * Whether there are pages to stream now: with stream-all once a task's mappings are registered,
     * for {@link #finishInBackground()} once CRIU finished restoring.
     */
    private boolean streaming() {
        if (!streamAll && !(finishing && restored)) {
            return false;
        }
        return streamableTask() != null;
    }

    private Task streamableTask() {
        for (Task t : tasks) {
            if (!t.exited && t.registered && t.lazy.remaining() > 0) {
                return t;
            }
        }
        return null;
    }

    /**
     * Installs the next piece of up to 4 MB of the page file, in file order (see
     * {@link LazyRanges#nextFileSpan}): one read of the source, then one UFFDIO_COPY per run of pages
     * not installed yet, in the first task that lacks any and in every other task of the same image
     * (forked children, which lack what their parent lacked), so the bytes are read once.
     */
    private void streamOneBatch() {
        Task first = streamableTask();
        LazyRanges.FileSpan span = first == null ? null : first.lazy.nextFileSpan(BATCH_PAGES);
        if (span == null) {
            return;
        }
        MemorySegment bytes = pageBuffer.asSlice(0, (long) span.pages() * PAGE);
        long start = now();
        try {
            options.source().readInOrder(span.pagesId(), span.offset(), bytes);
        } catch (RuntimeException e) {
            throw new ServeFailure(String.format("page source failed for %s, %s: reading %d pages at offset %d of pages-%d.img: %s",
                    first, streamAll ? "streaming every lazy page" : "background copy", span.pages(), span.offset(),
                    span.pagesId(), e), e);
        }
        sourceReadNanos += now() - start;
        bytesFromSource += bytes.byteSize();
        long pages = 0;
        for (Task t : tasks) {
            if (t.exited || !t.registered || t.imagePid != first.imagePid) {
                continue;
            }
            for (LazyRanges.Pending p : t.lazy.pendingIn(span)) {
                install(t, p.address(), bytes, p.fileOffset() - span.offset(), p.pages());
                pages += lastInstalled;
                if (lastAgain || t.exited) {
                    break; // mappings are changing: the rest comes with a later batch, or when faulted
                }
            }
        }
        if (streamAll) {
            pagesStreamed += pages;
        } else {
            pagesCopiedInBackground += pages;
        }
        removeExitedTasks();
    }

    private boolean allInstalled() {
        for (Task t : tasks) {
            if (!t.exited && t.lazy.remaining() > 0) {
                return false;
            }
        }
        return true;
    }

    /** Every lazy page is installed: lets go of the tasks, which no longer need the daemon. */
    private void releaseTasks() {
        for (Task t : tasks) {
            closeUffd(t);
        }
        tasks.clear();
        finished = true;
        streamComplete = streamAll;
        prefetchSettled = true; // whatever of the working set was not installed from it is installed now
        prefetchInstalling = false;
        updateInstalled();
    }

    /** Signals {@link #awaitInstalled} once the prefetch is settled and, with stream-all, the stream complete. */
    private void updateInstalled() {
        if (installed || (options.prefetch().isEmpty() && !streamAll)) {
            return;
        }
        if ((options.prefetch().isEmpty() || prefetchSettled) && (!streamAll || streamComplete)) {
            installedAtNanos = now();
            installed = true;
            publishStats(); // what awaitInstalled's caller reads next
            installedOrEnded.countDown();
        }
    }

    // ---------------------------------------------------------------- helpers

    private void taskGone(Task t) {
        t.exited = true;
        tasksExited = true;
        closeUffd(t);
    }

    private void closeUffd(Task t) {
        if (t.uffd >= 0) {
            libc.close(t.uffd);
            t.uffd = -1;
        }
    }

    private long lazyPagesRemaining() {
        long sum = 0;
        for (Task t : tasks) {
            if (!t.exited) {
                sum += t.lazy.remaining();
            }
        }
        return sum;
    }

    /** Publishes a consistent snapshot of the counters for {@link #stats()}. */
    private void publishStats() {
        published = new Stats(taskCount, faultsServed, pagesServedOnDemand, zeroPagesServed, mappingEvents,
                pagesInstalledUpFront, faultsServedFromPrefetch, pagesCopiedInBackground, bytesFromSource, Duration.ofNanos(sourceReadNanos),
                Duration.ofNanos(prefetchInstallNanos), since(restoredAtNanos), since(firstFaultAtNanos),
                lazyPagesRemaining(), finished, Optional.ofNullable(failure), pagesStreamed, streamComplete,
                since(installedAtNanos), Duration.ofNanos(faultHandlingNanos));
    }

    private static Stats withFailure(Stats s, String failure) {
        return new Stats(s.tasks(), s.faultsServed(), s.pagesServedOnDemand(), s.zeroPagesServed(), s.mappingEvents(),
                s.pagesInstalledUpFront(), s.faultsServedFromPrefetch(), s.pagesCopiedInBackground(), s.bytesFromSource(), s.sourceReadTime(),
                s.prefetchInstallTime(), s.restoredAfter(), s.firstFaultAfter(), s.lazyPagesRemaining(), s.finished(),
                Optional.of(failure), s.pagesStreamed(), s.streamComplete(), s.installedAfter(), s.faultHandlingTime());
    }

    private void fail(String reason) {
        if (!failureReported.compareAndSet(false, true)) {
            return;
        }
        failure = reason;
        LOG.log(System.Logger.Level.ERROR, reason);
        try {
            options.onFailure().accept(reason);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "the lazy-pages failure handler threw", e);
        }
    }

    private long now() {
        return options.nanoTime().getAsLong();
    }

    private Optional<Duration> since(long at) {
        return at < 0 ? Optional.empty() : Optional.of(Duration.ofNanos(at - startNanos));
    }

    /** Ends serving with a reason for the failure handler; uffds stay open. */
    private static final class ServeFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ServeFailure(String message) {
            super(message, null, false, false);
        }

        ServeFailure(String message, Throwable cause) {
            super(message, cause, false, false);
        }
    }
}
