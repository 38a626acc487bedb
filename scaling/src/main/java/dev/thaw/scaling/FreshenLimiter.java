package dev.thaw.scaling;

import java.time.Duration;
import java.util.Objects;

/**
 * Bounds and accounts each function's freshen calls: at most {@link FreshenLimits#maxCalls()} in any
 * sliding {@link FreshenLimits#window()}, each with a time limit the node enforces. Functions use
 * the default limits unless {@link #configure(String, FreshenLimits) configured} otherwise. All
 * methods are thread-safe.
 */
public interface FreshenLimiter {

    /**
     * @param defaults the limits of functions not configured otherwise
     * @param ticker the time source
     * @return a limiter that has granted nothing
     */
    static FreshenLimiter create(FreshenLimits defaults, Ticker ticker) {
        return new SlidingWindowFreshenLimiter(Objects.requireNonNull(defaults, "defaults"), Objects.requireNonNull(ticker, "ticker"));
    }

    /**
     * Asks to run {@code function}'s freshen now; a grant counts against the window at once. A
     * refusal reads: <i>freshen of 'hello' refused: 10 calls in the last 60 s (the limit); the next
     * is allowed in 12.5 s</i>.
     *
     * @param function the function
     * @return {@link FreshenPermit.Granted} with the time limit, or {@link FreshenPermit.Refused}
     */
    FreshenPermit tryAcquire(String function);

    /**
     * Accounts the time a granted freshen call took.
     *
     * @param function the function
     * @param used how long it ran
     */
    void recordTime(String function, Duration used);

    /**
     * @param function the function
     * @return what its freshen has taken so far
     */
    FreshenUsage usage(String function);

    /**
     * Sets {@code function}'s limits; the calls of the current window still count.
     *
     * @param function the function
     * @param limits its limits
     */
    void configure(String function, FreshenLimits limits);

    /**
     * @param function the function
     * @return its limits: configured, or the defaults
     */
    FreshenLimits limits(String function);

    /**
     * Forgets {@code function}'s limits, calls and usage (it was deleted).
     *
     * @param function the function
     */
    void forget(String function);
}
