package dev.thaw.lazy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * A running lazy-pages daemon for one {@code criu restore --lazy-pages}: obtained from
 * {@link LazyPages#start(LazyPages.Options)}, already listening on {@link #socket()}.
 *
 * <p>Life cycle: start it, run {@code criu restore --lazy-pages -W <workDir>}, {@link #awaitRestored}
 * (optional), let the instance answer its first invocation, then {@link #finishInBackground()} so
 * the daemon installs the rest of the memory and ends, and {@link #close()} when the instance is
 * gone or the daemon finished. All methods are safe to call from any thread.
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
     * Stops serving and frees the userfaultfds, the socket and its file, and the thread. If a task
     * that is still alive lacks lazy pages at that point, closing its userfaultfd would let it read
     * zeros where its memory was: the failure handler is called first (unless it already was), so the
     * node kills the instance instead of letting it run on corrupted memory.
     */
    @Override
    void close();

    /**
     * What the daemon did.
     *
     * @param tasks userfaultfds received from CRIU plus forked children
     * @param faultsServed page faults answered with bytes from the page source (the on-demand faults)
     * @param pagesServedOnDemand pages those faults installed (with fault-around, more than faults)
     * @param zeroPagesServed faults outside the image's lazy pages, answered with the zero page
     * @param mappingEvents FORK, REMAP, REMOVE and UNMAP events applied
     * @param pagesInstalledUpFront pages installed from the prefetched working set
     * @param faultsServedFromPrefetch faults on working-set pages not installed yet, answered from the prefetched bytes
     * @param pagesCopiedInBackground pages installed by {@link #finishInBackground()}
     * @param bytesFromSource bytes read from the page source by the daemon itself
     * @param sourceReadTime time spent in {@link PageSource#read}
     * @param prefetchInstallTime time from the start of installing the prefetched working set to its end;
     *     zero until it is all installed (and when there is none, or its bytes could not be fetched)
     * @param restoredAfter time from start to CRIU's "restore finished", if it came
     * @param firstFaultAfter time from start to the first page fault, if any
     * @param lazyPagesRemaining lazy pages of live tasks not installed yet
     * @param finished whether {@link #finishInBackground()} completed and the userfaultfds are closed
     * @param failure why the daemon stopped serving, if it did
     */
    record Stats(int tasks, long faultsServed, long pagesServedOnDemand, long zeroPagesServed, long mappingEvents,
                 long pagesInstalledUpFront, long faultsServedFromPrefetch, long pagesCopiedInBackground, long bytesFromSource,
                 Duration sourceReadTime, Duration prefetchInstallTime, Optional<Duration> restoredAfter,
                 Optional<Duration> firstFaultAfter, long lazyPagesRemaining, boolean finished,
                 Optional<String> failure) {
    }
}
