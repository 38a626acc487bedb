package dev.thaw.scaling;

import java.time.Duration;
import java.util.Objects;

/**
 * One function's in-flight request count over time, kept as per-second average concurrency (as
 * Knative's queue-proxy reports it: the time-weighted mean of the count over each second), from
 * which it answers the average over any window up to the one it was created for.
 *
 * <p>Feed it either events ({@link #requestStarted()} when a request is accepted, buffered ones
 * included; {@link #requestEnded()} when it is answered, whatever the outcome) or periodic
 * {@link #sample(int) samples} of the count, which is then taken as constant until the next sample.
 * Memory is one {@code long} per second of the window. All methods are thread-safe.
 *
 * <p>An {@link Autoscaler} keeps its own recorder; a standalone one serves metrics and tests.
 */
public interface ConcurrencyRecorder {

    /** Longest window a recorder may keep: Knative's longest stable window. */
    Duration MAX_WINDOW = Duration.ofHours(1);

    /**
     * @param longestWindow the longest window {@link #averageConcurrency(Duration)} will be asked
     *     about, at least 1 s and at most {@link #MAX_WINDOW}
     * @param ticker the time source
     * @return a recorder with nothing in flight
     * @throws IllegalArgumentException naming the window when it is out of range
     */
    static ConcurrencyRecorder create(Duration longestWindow, Ticker ticker) {
        return new TimeWeightedRecorder(longestWindow, Objects.requireNonNull(ticker, "ticker"));
    }

    /** A request was accepted (it runs or waits in the buffer): one more in flight. */
    void requestStarted();

    /**
     * A request was answered, served or failed: one fewer in flight.
     *
     * @throws IllegalStateException when nothing is in flight (unbalanced calls are a caller bug)
     */
    void requestEnded();

    /**
     * Sets the in-flight count as measured now; it holds until the next event or sample.
     *
     * @param inFlight requests in flight, at least 0
     */
    void sample(int inFlight);

    /** @return requests in flight now */
    int inFlight();

    /**
     * The time-weighted mean of the in-flight count over the last {@code window} of ticker time, at
     * one-second resolution (the oldest second is counted pro rata). When the recorder started
     * recording (its first request, or the first after it was idle for its whole longest window)
     * less than {@code window} ago, the mean is over the time since then, as Knative's buckets do,
     * so that a burst after a quiet spell is not diluted by the quiet; at that very instant it is
     * the in-flight count. Rounded to six decimals.
     *
     * @param window at most the recorder's longest window
     * @return the average concurrency, 0 before any request
     * @throws IllegalArgumentException naming the window when it is not positive or too long
     */
    double averageConcurrency(Duration window);

    /**
     * @return how long nothing has been in flight: zero while a request is, the time since the
     *     last one ended, or the time since this recorder was created when there has been none
     */
    Duration idleFor();

    /** @return the longest window this recorder keeps */
    Duration longestWindow();
}
