package dev.thaw.lazy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * A running lazy-pages daemon for one {@code criu restore --lazy-pages}: obtained from
 * {@link LazyPages#start(LazyPages.Options)}, already listening on {@link #socket()}.
 *
 * <p>Life cycle: start it, run {@code criu restore --lazy-pages -W <workDir>}, {@link #awaitRestored}
 * (optional), {@link #awaitInstalled} (optional, with a prefetch or stream-all), let the instance
 * answer its first invocation, then {@link #finishInBackground()} so the daemon installs the rest of
 * the memory and ends, and {@link #close()} when the daemon finished, or {@link #closeAfterExit()}
 * once the instance is gone. All methods are safe to call from any thread.
 */
public interface LazyPagesServer extends AutoCloseable {

    /** @return the socket CRIU connects to: {@code <workDir>/lazy-pages.socket} */
    Path socket();

    /**
     * Waits until CRIU reports that all tasks are restored (its "RSTF" message), which it sends just
     * before letting them run.
     *
     * @return whether that happened within the timeout (false also when the daemon failed or closed)
     */
    boolean awaitRestored(Duration timeout);

    /**
     * Waits until every page this server is to install up front is installed: the whole lazy image
     * with {@link LazyPages.Options#streamAll()} (then the daemon has also closed the userfaultfds and
     * ended), the prefetched working set with a {@link LazyPages.Prefetch}, both when both are set.
     *
     * <ul>
     *   <li>With neither, there is nothing to wait for: returns true at once.</li>
     *   <li>A prefetch whose bytes failed or came short falls back to serving on demand; that decision
     *       counts as done, so this returns true as soon as it is made (when the bytes' future
     *       completes), without waiting out the timeout. Combined with streaming, the stream still has
     *       to complete.</li>
     *   <li>Returns false on timeout, when the daemon failed ({@link Stats#failure()}), when CRIU
     *       closed the connection before the restore finished, and when the server was closed first.</li>
     * </ul>
     *
     * Signalled by the daemon's thread, not polled. The instance runs meanwhile; faults are served as usual.
     *
     * @return whether everything to install up front is installed
     */
    boolean awaitInstalled(Duration timeout);

    /** @return counters and timings so far */
    Stats stats();

    /**
     * @return when recording, the pages served on demand so far, in order of first fault, adjacent
     *     pages of one task merged into runs; empty when not recording
     */
    WorkingSet recorded();

    /**
     * Asks the daemon to copy every page still lazy, in big batches between faults (which keep
     * priority), then close the userfaultfds and end its thread. Bounds the daemon's life: afterwards
     * the instance no longer depends on the page source. Returns at once.
     */
    void finishInBackground();

    /**
     * @return a stage that completes once the serving thread has ended: after {@link #finishInBackground()}
     *     installed every lazy page and let go of the tasks ({@link Stats#finished()}), or when the
     *     daemon failed or was closed. From then on it reads neither the page source nor the prefetched
     *     bytes, so whoever owns them may free them while the instance runs on. Dependent actions run on
     *     the serving thread as it ends (or at once, if it already has): keep them short.
     */
    java.util.concurrent.CompletionStage<Void> whenEnded();

    /**
     * Stops serving and frees the userfaultfds, the socket and its file, and the thread. If a task
     * that is still alive lacks lazy pages at that point, closing its userfaultfd would let it read
     * zeros where its memory was: the failure handler is called first (unless it already was), so the
     * node kills the instance instead of letting it run on corrupted memory.
     */
    @Override
    void close();

    /**
     * {@link #close()} for a caller that knows the instance's processes have all exited (it killed
     * them, or saw them exit): pages they still lacked are nobody's problem, so the failure handler is
     * not called and nothing is logged above DEBUG. Closing the userfaultfds of a task that is in fact
     * still alive lets it read zeros where its memory was: do not use this to skip the kill.
     */
    default void closeAfterExit() {
        close();
    }

    /**
     * What the daemon did.
     *
     * @param tasks userfaultfds received from CRIU plus forked children
     * @param faultsServed page faults answered with bytes from the page source (the on-demand faults)
     * @param pagesServedOnDemand pages those faults installed (with fault-around, more than faults)
     * @param zeroPagesServed faults outside the image's lazy pages (memory never touched before the dump),
     *     answered by handing the hole around them back to the kernel, or else with the zero page
     * @param mappingEvents FORK, REMAP, REMOVE and UNMAP events applied
     * @param pagesInstalledUpFront pages installed from the prefetched working set
     * @param faultsServedFromPrefetch faults on working-set pages not installed yet, answered from the prefetched bytes
     * @param pagesCopiedInBackground pages installed by {@link #finishInBackground()} (without stream-all;
     *     with it, they count as {@code pagesStreamed})
     * @param bytesFromSource bytes read from the page source by the daemon itself
     * @param sourceReadTime time spent in {@link PageSource#read}
     * @param prefetchInstallTime time spent installing the prefetched working set (with bytes that arrive
     *     in order, spread over the fetch); zero until it is all installed (and when there is none, or
     *     its bytes could not be fetched)
     * @param restoredAfter time from start to CRIU's "restore finished", if it came
     * @param firstFaultAfter time from start to the first page fault, if any
     * @param lazyPagesRemaining lazy pages of live tasks not installed yet
     * @param finished whether every lazy page was installed (by {@link #finishInBackground()} or stream-all)
     *     and the userfaultfds are closed: the instance no longer depends on the daemon
     * @param failure why the daemon stopped serving, if it did
     * @param pagesStreamed pages installed by stream-all ({@link LazyPages.Options#streamAll()}), read from the
     *     source in page-file order; faults served meanwhile count as on-demand as usual
     * @param streamComplete whether stream-all installed every lazy page of every task (tasks that exited
     *     need none) and closed the userfaultfds; implies {@code finished}
     * @param installedAfter time from start until everything to install up front was installed, which is
     *     when {@link #awaitInstalled} returns true; empty before that, and when there is nothing to
     *     install up front
     * @param faultHandlingTime time the daemon's thread spent on userfaultfd messages once poll(2) woke it:
     *     reading them, the page source reads for faults, UFFDIO_COPY/ZEROPAGE/WAKE and the bookkeeping.
     *     Divided by the faults answered, it is the daemon's own share of a fault's round trip; the rest
     *     is the kernel waking the daemon and the faulting thread, and the application itself
     */
    record Stats(int tasks, long faultsServed, long pagesServedOnDemand, long zeroPagesServed, long mappingEvents,
                 long pagesInstalledUpFront, long faultsServedFromPrefetch, long pagesCopiedInBackground, long bytesFromSource,
                 Duration sourceReadTime, Duration prefetchInstallTime, Optional<Duration> restoredAfter,
                 Optional<Duration> firstFaultAfter, long lazyPagesRemaining, boolean finished,
                 Optional<String> failure, long pagesStreamed, boolean streamComplete, Optional<Duration> installedAfter,
                 Duration faultHandlingTime) {

        /** The statistics as they were before stream-all: without its counters. */
        public Stats(int tasks, long faultsServed, long pagesServedOnDemand, long zeroPagesServed, long mappingEvents,
                     long pagesInstalledUpFront, long faultsServedFromPrefetch, long pagesCopiedInBackground, long bytesFromSource,
                     Duration sourceReadTime, Duration prefetchInstallTime, Optional<Duration> restoredAfter,
                     Optional<Duration> firstFaultAfter, long lazyPagesRemaining, boolean finished, Optional<String> failure) {
            this(tasks, faultsServed, pagesServedOnDemand, zeroPagesServed, mappingEvents, pagesInstalledUpFront,
                    faultsServedFromPrefetch, pagesCopiedInBackground, bytesFromSource, sourceReadTime, prefetchInstallTime,
                    restoredAfter, firstFaultAfter, lazyPagesRemaining, finished, failure, 0, false, Optional.empty(),
                    Duration.ZERO);
        }
    }
}
