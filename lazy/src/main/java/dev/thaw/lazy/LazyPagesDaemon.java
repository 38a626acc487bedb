package dev.thaw.lazy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
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
 * each turn. It is a platform thread because it spends its life in native calls (poll, ioctl) that
 * would pin a virtual thread anyway. (Spinning on a uffd for 50 µs after serving it, to catch the
 * next fault without sleeping, was tried and measured: no difference beyond the noise on 2 vCPUs.)
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
 * source until they arrive; if fetching them failed, everything is served on demand. Installed pages
 * are marked done and never fetched again.
 *
 * Recording. Every page installed on demand from the source (the faulting page and its fault-around)
 * is appended, at its image address (so mremap does not matter), to the Recorder's runs.
 *
 * Finishing. finishInBackground() makes the loop copy the remaining lazy pages in batches of up to
 * 4 MB, one batch per loop turn so a fault waits for at most one batch, and then close the uffds
 * and end: the instance then no longer depends on the page source or on this daemon.
 */

/** The lazy-pages daemon behind {@link LazyPages#start}; see the design notes at the top of this file. */
final class LazyPagesDaemon implements LazyPagesServer {
    private static final System.Logger LOG = System.getLogger(LazyPagesDaemon.class.getName());
    static final String SOCKET_NAME = "lazy-pages.socket";
    private static final int PAGE = Userfaultfd.PAGE_SIZE;
    private static final int BATCH_PAGES = LazyPages.MAX_FAULT_AROUND_PAGES;
    private static final int EVENTS_PER_READ = 64;
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
    private final AtomicBoolean failureReported = new AtomicBoolean();
    private final AtomicBoolean closeCalled = new AtomicBoolean();
    private final long startNanos;
    private final Thread thread;

    private int listenFd;
    private final int wakeFd;
    private RestoreConnection connection;
    private MemorySegment pollFds;
    private Task[] polledTasks = new Task[0];
    private boolean prefetchPending;
    private boolean prefetchHooked;
    private Prefetched prefetched;
    private boolean prefetchInstalling;
    private long prefetchStartNanos;
    private boolean freed;

    private volatile boolean closing;
    private volatile boolean finishing;
    private volatile boolean restored;
    private volatile String failure;
    /** What {@link #stats()} returns: published by the loop after each turn, so it is consistent. */
    private volatile Stats published;

    // counters: written by the loop thread only, read through published snapshots
    private boolean finished;
    private int taskCount;
    private long faultsServed;
    private long pagesServedOnDemand;
    private long zeroPagesServed;
    private long mappingEvents;
    private long pagesInstalledUpFront;
    private long faultsServedFromPrefetch;
    private long pagesCopiedInBackground;
    private long bytesFromSource;
    private long sourceReadNanos;
    private long prefetchInstallNanos;
    private long restoredAtNanos = -1;
    private long firstFaultAtNanos = -1;

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
        this.pageBuffer = arena.allocate((long) BATCH_PAGES * PAGE, PAGE);
        this.eventBuffer = arena.allocate((long) EVENTS_PER_READ * Userfaultfd.MSG_SIZE, 8);
        this.pollFds = arena.allocate(16L * POLLFD_SIZE, 8);
        this.prefetchPending = options.prefetch().isPresent();
        this.startNanos = options.nanoTime().getAsLong();
        this.published = new Stats(0, 0, 0, 0, 0, 0, 0, 0, 0, Duration.ZERO, Duration.ZERO, Optional.empty(), Optional.empty(),
                0, false, Optional.empty());
        this.thread = new Thread(this::run, "thaw-lazy-pages " + options.workDir().getFileName());
        this.thread.setDaemon(true);
        this.listenFd = -1;
        this.wakeFd = libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (wakeFd < 0) {
            arena.close();
            throw new LazyPagesException("cannot create an eventfd: " + Libc.errnoName(-wakeFd));
        }
    }

    static LazyPagesServer start(LazyPages.Options options) {
        LazyPagesDaemon d = new LazyPagesDaemon(options);
        try {
            d.listen();
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
        try {
            restoredOrEnded.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return restored;
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
    public void close() {
        if (!closeCalled.compareAndSet(false, true)) {
            return;
        }
        closing = true;
        wake();
        joinThread();
        reportPagesStillMissing();
        freeResources();
    }

    @Override
    public String toString() {
        return "LazyPagesServer[" + socket + "]";
    }

    // ---------------------------------------------------------------- setup and teardown

    private void listen() {
        byte[] path = socket.toString().getBytes(StandardCharsets.UTF_8);
        if (path.length > Libc.MAX_SOCKET_PATH) {
            throw new LazyPagesException("the lazy-pages socket path " + socket + " is " + path.length
                    + " bytes, more than the " + Libc.MAX_SOCKET_PATH + " an AF_UNIX address holds: use a shorter work directory");
        }
        try {
            Files.createDirectories(socket.getParent());
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            throw new LazyPagesException("cannot prepare " + socket + ": " + e, e);
        }
        listenFd = libc.socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC | Libc.SOCK_NONBLOCK, 0);
        check(listenFd, "socket(AF_UNIX)");
        MemorySegment address = arena.allocate(Libc.SOCKADDR_UN_SIZE, 8);
        address.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.AF_UNIX);
        MemorySegment.copy(path, 0, address, ValueLayout.JAVA_BYTE, 2, path.length);
        check(libc.bind(listenFd, address, 2 + path.length + 1), "bind " + socket);
        check(libc.listen(listenFd, 4), "listen on " + socket);
    }

    private static void check(long result, String what) {
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
            serve();
        } catch (ServeFailure f) {
            fail(f.getMessage());
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, "lazy-pages daemon for " + options.workDir() + " failed", t);
            fail("lazy-pages daemon for " + options.workDir() + " failed: " + t);
        } finally {
            publishStats();
            restoredOrEnded.countDown();
        }
    }

    private void serve() {
        while (!closing) {
            int count = preparePoll();
            int ready = libc.poll(pollFds, count, pollTimeoutMillis());
            if (ready == -Libc.EINTR) {
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
            startPrefetchWhenReady();
            if (prefetchInstalling) {
                installPrefetchChunk();
            }
            if (finishing && restored) {
                copyOneBatch();
                if (allInstalled()) {
                    releaseTasks();
                    return;
                }
            }
            publishStats();
        }
    }

    private int preparePoll() {
        int count = FIRST_TASK_SLOT + tasks.size();
        if (pollFds.byteSize() < (long) count * POLLFD_SIZE) {
            pollFds = arena.allocate((long) count * 2 * POLLFD_SIZE, 8);
        }
        setPollFd(WAKE_SLOT, wakeFd);
        setPollFd(SOCKET_SLOT, connection != null ? (connection.closed() ? -1 : connection.fd()) : listenFd);
        polledTasks = tasks.toArray(new Task[0]);
        for (int i = 0; i < polledTasks.length; i++) {
            setPollFd(FIRST_TASK_SLOT + i, polledTasks[i].uffd);
        }
        return count;
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
        if (prefetchInstalling || (finishing && restored && lazyPagesRemaining() > 0)) {
            return 0; // installing in batches: just look for faults between them
        }
        boolean deferred = tasks.stream().anyMatch(t -> !t.deferredFaults.isEmpty());
        boolean awaitingPrefetch = prefetchPending && !prefetchHooked && tasks.stream().anyMatch(t -> t.registered);
        return deferred || awaitingPrefetch ? 1 : -1;
    }

    private void handleReady(int count) {
        if (revents(WAKE_SLOT) != 0) {
            libc.read(wakeFd, wakeDrain, 8);
        }
        if (revents(SOCKET_SLOT) != 0) {
            handleSocket();
        }
        for (int slot = FIRST_TASK_SLOT; slot < count; slot++) {
            Task t = polledTasks[slot - FIRST_TASK_SLOT];
            if (revents(slot) != 0 && !t.exited) {
                handleEvents(t);
            }
        }
        tasks.removeIf(t -> t.exited);
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

    /** Reads and handles the task's messages until there are none (the uffd is non-blocking). */
    private void handleEvents(Task t) {
        while (!t.exited) {
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
            if (n < eventBuffer.byteSize()) {
                return; // drained; poll says when there is more
            }
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
            installZeroPage(t, page);
            return;
        }
        if (r.isDone(page)) {
            uffd.wake(t.uffd, page, PAGE); // installed since the fault was raised
            return;
        }
        if (serveFromPrefetch(t, r, page)) {
            return;
        }
        int pages = r.pendingRun(page, options.faultAroundPages());
        long imageAddress = r.imageAddress(page);
        MemorySegment bytes = readSource(t, r, page, pages, "fault at 0x" + Long.toHexString(page));
        install(t, page, bytes, pages);
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

    private void installZeroPage(Task t, long page) {
        int rc = uffd.zeropage(t.uffd, page, PAGE);
        if (rc == 0) {
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
        tasks.removeIf(t -> t.exited);
    }

    /**
     * Reads {@code pages} pages at {@code address} of a range from the page source into the page
     * buffer. A failure of the source ends serving (see the design notes): the fault stays unanswered.
     */
    private MemorySegment readSource(Task t, LazyRanges.Range r, long address, int pages, String why) {
        MemorySegment dst = pageBuffer.asSlice(0, (long) pages * PAGE);
        long offset = r.fileOffset(address);
        long start = now();
        try {
            options.source().read(r.pagesId, offset, dst);
        } catch (RuntimeException e) {
            throw new ServeFailure(String.format("page source failed for %s, %s: reading %d pages at offset %d of pages-%d.img"
                    + " (image address 0x%x): %s", t, why, pages, offset, r.pagesId, r.imageAddress(address), e), e);
        }
        sourceReadNanos += now() - start;
        bytesFromSource += dst.byteSize();
        return dst;
    }

    /**
     * Installs {@code pages} pages at {@code address} from {@code src} with UFFDIO_COPY, all inside one
     * range. Sets {@link #lastInstalled} to the pages copied, {@link #lastFirstCopied} when the page at
     * {@code address} was among them, and {@link #lastAgain} when the kernel asked to retry later;
     * pages that turned out present or unreachable are settled without being counted.
     */
    private void install(Task t, long address, MemorySegment src, int pages) {
        lastInstalled = 0;
        lastAgain = false;
        lastFirstCopied = false;
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
            int rc = uffd.copy(t.uffd, at, src.asSlice(done * PAGE, chunk * PAGE), chunk * PAGE);
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

    /** Once a task's mappings are registered and the prefetched bytes are there, starts installing them. */
    private void startPrefetchWhenReady() {
        if (!prefetchPending || tasks.stream().noneMatch(t -> t.registered)) {
            return;
        }
        LazyPages.Prefetch prefetch = options.prefetch().orElseThrow();
        Future<MemorySegment> future = prefetch.bytes();
        if (!future.isDone()) {
            hookPrefetchCompletion(future);
            return;
        }
        prefetchPending = false;
        prefetchedBytes(prefetch).ifPresent(bytes -> {
            prefetched = new Prefetched(prefetch.workingSet(), bytes);
            prefetchInstalling = true;
            prefetchStartNanos = now();
        });
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
     * Installs the next piece (up to 4 MB) of the prefetched working set in every task it belongs to.
     * One piece per loop turn, so faults are served in between; a fault on a prefetched page that is
     * not installed yet is served from the same bytes ({@link #serveFromPrefetch}).
     */
    private void installPrefetchChunk() {
        Prefetched.Piece piece = prefetched.next(BATCH_PAGES);
        if (piece == null) {
            prefetchInstallNanos = Math.max(1, now() - prefetchStartNanos); // non-zero: "installed"
            prefetchInstalling = false;
            return;
        }
        for (Task t : tasks) {
            if (t.imagePid == piece.pid() && t.registered && !t.exited) {
                installPiece(t, piece); // a task not registered yet gets these pages when it faults them
            }
        }
        tasks.removeIf(t -> t.exited);
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
            install(t, address, prefetched.bytes.asSlice(piece.offset() + (address - piece.imageAddress())), pages);
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
        if (offset < 0) {
            return false;
        }
        int pages = r.pendingRun(page, Math.min(PREFETCH_FAULT_PAGES, prefetched.pagesFrom(t.imagePid, imageAddress)));
        install(t, page, prefetched.bytes.asSlice(offset), pages);
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

    /** Copies one batch of still-lazy pages of the first task that has any. */
    private void copyOneBatch() {
        for (Task t : tasks) {
            LazyRanges.Range r = t.exited ? null : t.lazy.firstPending();
            if (r == null) {
                continue;
            }
            long address = r.firstPending();
            int pages = r.pendingRun(address, BATCH_PAGES);
            MemorySegment bytes = readSource(t, r, address, pages, "background copy");
            install(t, address, bytes, pages);
            pagesCopiedInBackground += lastInstalled;
            break;
        }
        tasks.removeIf(t -> t.exited);
    }

    private boolean allInstalled() {
        return tasks.stream().allMatch(t -> t.exited || t.lazy.remaining() == 0);
    }

    private void releaseTasks() {
        for (Task t : tasks) {
            closeUffd(t);
        }
        tasks.clear();
        finished = true;
    }

    // ---------------------------------------------------------------- helpers

    private void taskGone(Task t) {
        t.exited = true;
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
                lazyPagesRemaining(), finished, Optional.ofNullable(failure));
    }

    private static Stats withFailure(Stats s, String failure) {
        return new Stats(s.tasks(), s.faultsServed(), s.pagesServedOnDemand(), s.zeroPagesServed(), s.mappingEvents(),
                s.pagesInstalledUpFront(), s.faultsServedFromPrefetch(), s.pagesCopiedInBackground(), s.bytesFromSource(), s.sourceReadTime(),
                s.prefetchInstallTime(), s.restoredAfter(), s.firstFaultAfter(), s.lazyPagesRemaining(), s.finished(),
                Optional.of(failure));
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
