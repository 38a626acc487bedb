package dev.thaw.lazy;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * thaw's own CRIU lazy-pages daemon: serves the page faults of a {@code criu restore --lazy-pages}
 * over userfaultfd from a {@link PageSource}, can record the pages an instance touches
 * ({@link WorkingSet}) and install a recorded working set up front on later restores (REAP).
 *
 * <pre>{@code
 * ImageIndex index = ImageIndex.load(images);
 * try (LazyPagesServer server = LazyPages.start(LazyPages.Options.of(work, index, source).withRecord(true))) {
 *     // criu restore --lazy-pages -D images -W work ...
 *     server.awaitRestored(Duration.ofSeconds(10));
 *     // ... first invocation answered ...
 *     WorkingSet ws = server.recorded();
 *     server.finishInBackground();
 * }
 * }</pre>
 */
public final class LazyPages {
    /** The most pages one fault may install, and the size of background batches (4 MB). */
    public static final int MAX_FAULT_AROUND_PAGES = 1024;
    /** The longest {@link Options#spinAfterFault()}. */
    public static final Duration MAX_SPIN = Duration.ofMillis(10);

    private LazyPages() {
    }

    /**
     * Binds and listens on {@code options.workDir()/lazy-pages.socket} and starts serving on a thread
     * of its own. Returns once the socket listens, so CRIU may be started right after.
     *
     * @throws LazyPagesException when the socket cannot be set up (for example a work directory whose
     *     path is too long for an AF_UNIX address)
     */
    public static LazyPagesServer start(Options options) {
        return LazyPagesDaemon.start(options, null);
    }

    /**
     * Starts a daemon on a socket bound earlier ({@link #listen}), so that CRIU could be started
     * before this daemon was set up; CRIU's connection waits in the socket's backlog.
     *
     * @param socket bound in {@code options.workDir()}; adopted (closed by the daemon), also when this throws
     */
    public static LazyPagesServer start(Options options, LazyPagesSocket socket) {
        return LazyPagesDaemon.start(options, Objects.requireNonNull(socket, "socket"));
    }

    /**
     * Binds the lazy-pages socket of a restore in its work directory ahead of its daemon
     * ({@link LazyPagesSocket}).
     */
    public static LazyPagesSocket listen(Path workDir) {
        return LazyPagesSocket.listen(workDir);
    }

    /**
     * Page-aligned memory for a working set's bytes (or any buffer the node fills once per restore),
     * backed by transparent huge pages where the kernel has them and faulted in by the kernel in one
     * call. Why not an arena's allocation: that zeroes all of it from user space, page fault by page
     * fault, on the thread that allocates (~20 ms for a Spring Boot working set of 50 MB on the
     * fifth session's VM). Why not plain fresh pages either: on a VM where a page fault is expensive
     * they cost more than the bytes written into them. On the tenth session's VM, writing 64 MB into
     * fresh anonymous memory took 180-225 ms (~12 µs per 4 KiB page fault); with huge pages and
     * {@code MADV_POPULATE_WRITE} first, 8 ms in all. Either advice may be refused (THP off, an older
     * kernel): the memory is then faulted in as it is written, as before.
     *
     * <p>The memory is populated later, by {@link #populate}, on the thread that will write it: a
     * restore allocates its buffers before it starts CRIU, and populating them there put 2-35 ms
     * (hello's 11 MB working set, measured on the tenth session's VM) in front of CRIU's start.
     *
     * @param bytes the size (a page at least is mapped)
     * @param arena the memory is unmapped when it closes
     * @throws LazyPagesException when the kernel refuses the mapping
     */
    @SuppressWarnings("restricted") // the node runs with --enable-native-access; the mapping is ours and sized here
    public static MemorySegment pageMemory(long bytes, java.lang.foreign.Arena arena) {
        long size = Math.max(ImageIndex.PAGE_SIZE, (bytes + ImageIndex.PAGE_SIZE - 1) & -ImageIndex.PAGE_SIZE);
        long address;
        try (java.lang.foreign.Arena call = java.lang.foreign.Arena.ofConfined()) {
            Libc libc = new Libc(call);
            address = libc.mmapAnonymous(size);
            if (address < 0) {
                throw new LazyPagesException("cannot map " + size + " bytes of page memory (a working set or the page server's"
                        + " buffer): " + Libc.errnoName((int) -address));
            }
            libc.madvise(address, size, Libc.MADV_HUGEPAGE);
        }
        return MemorySegment.ofAddress(address)
                .reinterpret(size, arena, unused -> unmap(address, size))
                .asSlice(0, bytes);
    }

    /**
     * Has the kernel fault in all of a {@link #pageMemory} segment (rounded out to whole pages) in
     * one call, before it is written. Ignored when the kernel refuses ({@code MADV_POPULATE_WRITE} is
     * Linux 5.14+): the pages then fault in as they are written.
     *
     * @param memory a segment of {@link #pageMemory}, or a slice of one
     * @return the memory, for chaining
     */
    public static MemorySegment populate(MemorySegment memory) {
        long start = memory.address() & -ImageIndex.PAGE_SIZE;
        long end = (memory.address() + memory.byteSize() + ImageIndex.PAGE_SIZE - 1) & -ImageIndex.PAGE_SIZE;
        if (end > start) {
            try (java.lang.foreign.Arena call = java.lang.foreign.Arena.ofConfined()) {
                new Libc(call).madvise(start, end - start, Libc.MADV_POPULATE_WRITE);
            }
        }
        return memory;
    }

    private static void unmap(long address, long size) {
        try (java.lang.foreign.Arena call = java.lang.foreign.Arena.ofConfined()) {
            new Libc(call).munmap(address, size);
        }
    }

    /**
     * A working set to install before the restored tasks run, and its bytes.
     *
     * @param workingSet what a recording restore of the same image returned
     * @param bytes the working set's pages in working-set order (what
     *     {@link ImageIndex#read(WorkingSet, PageSource, java.lang.foreign.Arena)} returns), fetched while
     *     CRIU restores; the segment must stay alive until the server is closed. If it fails, the
     *     pages are served on demand instead.
     */
    public record Prefetch(WorkingSet workingSet, Future<MemorySegment> bytes, Optional<Arrival> arrival) {
        /** Checks the arguments. */
        public Prefetch {
            Objects.requireNonNull(workingSet, "workingSet");
            Objects.requireNonNull(bytes, "bytes");
            Objects.requireNonNull(arrival, "arrival");
        }

        /** A prefetch whose bytes are only used once all of them are there. */
        public Prefetch(WorkingSet workingSet, Future<MemorySegment> bytes) {
            this(workingSet, bytes, Optional.empty());
        }
    }

    /**
     * The bytes of a prefetch as they arrive, front to back, so the server installs the working set
     * while the rest of it is still being fetched: the fetcher writes into {@link #segment()} in order
     * and calls {@link #arrived(long)} once the first bytes are final. {@link Prefetch#bytes()} completes
     * with the same segment when all have arrived, or fails (the pages not arrived are then served on demand).
     */
    public static final class Arrival {
        private final MemorySegment segment;
        private volatile long arrived;
        private volatile Runnable listener;

        /** @param segment where the working set's bytes are written, in working-set order */
        public Arrival(MemorySegment segment) {
            this.segment = Objects.requireNonNull(segment, "segment");
        }

        /** @return where the bytes are written */
        public MemorySegment segment() {
            return segment;
        }

        /** Called by the (one) fetching thread: the first {@code bytes} bytes of the segment are final. */
        public void arrived(long bytes) {
            if (bytes > arrived) {
                arrived = Math.min(bytes, segment.byteSize());
                Runnable l = listener;
                if (l != null) {
                    l.run();
                }
            }
        }

        /** @return how many bytes at the start of the segment are final */
        long arrivedBytes() {
            return arrived;
        }

        /** The server's wake-up: run on each arrival from now on, and once now. */
        void listen(Runnable wake) {
            listener = wake;
            wake.run();
        }
    }

    /**
     * How to serve one restore. Build with {@link #of} and the {@code with...} methods.
     *
     * @param workDir CRIU's {@code -W} directory; the socket path in it must fit in 107 bytes
     * @param index the image being restored
     * @param source where the image's page bytes come from
     * @param record whether to record the pages served on demand ({@link LazyPagesServer#recorded()})
     * @param prefetch a working set to install up front
     * @param faultAroundPages pages a fault installs: 1 serves exactly the faulting page (the lazy
     *     baseline); more installs the following pages of the same mapping too
     * @param onFailure called once with a reason naming the pid, address and cause: on the daemon's
     *     thread when it cannot serve a fault (the faulting threads stay blocked), or on the thread
     *     calling {@link LazyPagesServer#close()} when a live instance still lacks pages (its
     *     userfaultfds are closed as soon as the handler returns). Either way the node must kill the
     *     instance, and in the second case before returning
     * @param nanoTime the clock timings are taken with
     * @param streamAll whether to install every lazy page up front, as fast as possible: in page-file order,
     *     one batch of up to 4 MB (one read of the source) per loop turn, from the moment a task's mappings
     *     are registered (its first fault, or CRIU's "restore finished"). Faults keep priority: a fault on a
     *     page not streamed yet is served at once from the source. When every lazy page of every task is
     *     installed, the daemon closes the userfaultfds and ends, as after {@link LazyPagesServer#finishInBackground()}.
     *     For eager restores from a remote store without a local copy of the lazy pages
     * @param spinAfterFault how long the daemon keeps polling the userfaultfds without sleeping after it
     *     served a fault ({@code poll} with no timeout, then {@code sched_yield}, so anything runnable on
     *     its CPU runs first). Zero (the default) sleeps in {@code poll} at once. Worth it when the daemon and
     *     the faulting threads run on different CPUs of a VM, where every wake-up of a sleeping thread costs
     *     tens of microseconds: the daemon then sees the next fault without being woken. It costs the CPU
     *     time of the spin, at most this long after each burst of faults
     */
    public record Options(Path workDir, ImageIndex index, PageSource source, boolean record, Optional<Prefetch> prefetch,
                          int faultAroundPages, Consumer<String> onFailure, LongSupplier nanoTime, boolean streamAll,
                          Duration spinAfterFault) {
        /** Checks the options. */
        public Options {
            Objects.requireNonNull(workDir, "workDir");
            Objects.requireNonNull(index, "index");
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(prefetch, "prefetch");
            Objects.requireNonNull(onFailure, "onFailure");
            Objects.requireNonNull(nanoTime, "nanoTime");
            Objects.requireNonNull(spinAfterFault, "spinAfterFault");
            if (spinAfterFault.isNegative() || spinAfterFault.compareTo(MAX_SPIN) > 0) {
                throw new IllegalArgumentException("spinAfterFault must be in [0, " + MAX_SPIN + "], got " + spinAfterFault);
            }
            if (faultAroundPages < 1 || faultAroundPages > MAX_FAULT_AROUND_PAGES) {
                throw new IllegalArgumentException("faultAroundPages must be in [1, " + MAX_FAULT_AROUND_PAGES + "], got "
                        + faultAroundPages);
            }
        }

        /** The options as they were before {@code streamAll} and {@code spinAfterFault}: without either. */
        public Options(Path workDir, ImageIndex index, PageSource source, boolean record, Optional<Prefetch> prefetch,
                       int faultAroundPages, Consumer<String> onFailure, LongSupplier nanoTime) {
            this(workDir, index, source, record, prefetch, faultAroundPages, onFailure, nanoTime, false, Duration.ZERO);
        }

        /** @return options that serve exactly the faulting pages, without recording, prefetch, streaming or spinning */
        public static Options of(Path workDir, ImageIndex index, PageSource source) {
            return new Options(workDir, index, source, false, Optional.empty(), 1, reason -> { }, System::nanoTime, false,
                    Duration.ZERO);
        }

        /** @return these options, recording or not */
        public Options withRecord(boolean record) {
            return new Options(workDir, index, source, record, prefetch, faultAroundPages, onFailure, nanoTime,
                    streamAll, spinAfterFault);
        }

        /** @return these options with a working set to install up front */
        public Options withPrefetch(Prefetch prefetch) {
            return new Options(workDir, index, source, record, Optional.of(prefetch), faultAroundPages, onFailure, nanoTime,
                    streamAll, spinAfterFault);
        }

        /** @return these options with another fault-around */
        public Options withFaultAroundPages(int pages) {
            return new Options(workDir, index, source, record, prefetch, pages, onFailure, nanoTime,
                    streamAll, spinAfterFault);
        }

        /** @return these options with a failure handler */
        public Options withFailureHandler(Consumer<String> handler) {
            return new Options(workDir, index, source, record, prefetch, faultAroundPages, handler, nanoTime,
                    streamAll, spinAfterFault);
        }

        /** @return these options with another clock */
        public Options withNanoTime(LongSupplier clock) {
            return new Options(workDir, index, source, record, prefetch, faultAroundPages, onFailure, clock,
                    streamAll, spinAfterFault);
        }

        /**
         * @return these options, streaming every lazy page up front or not (see {@link #streamAll()});
         *     with a prefetch too, the working set is installed first and the rest streamed after it
         */
        public Options withStreamAll(boolean stream) {
            return new Options(workDir, index, source, record, prefetch, faultAroundPages, onFailure, nanoTime,
                    stream, spinAfterFault);
        }

        /** @return these options with another spin after faults (see {@link #spinAfterFault()}), at most 10 ms */
        public Options withSpinAfterFault(Duration spin) {
            return new Options(workDir, index, source, record, prefetch, faultAroundPages, onFailure, nanoTime,
                    streamAll, spin);
        }
    }
}
