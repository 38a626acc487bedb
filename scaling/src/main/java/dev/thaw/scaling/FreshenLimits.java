package dev.thaw.scaling;

import static dev.thaw.scaling.Checks.requireArgument;
import static dev.thaw.scaling.Checks.seconds;

import java.time.Duration;

/**
 * How much freshen one function may have: freshen runs before a predicted invocation, at the
 * platform's initiative, so without a bound a function could put its work in its freshen hook and
 * have it run for free on every misprediction. At most {@code maxCalls} in any {@code window}, each
 * cut off after {@code maxTimePerCall}: a function's freshen never takes more than
 * {@code maxCalls x maxTimePerCall} per window, and what it takes is accounted to it.
 *
 * @param maxCalls freshen calls allowed in any window (default 10; 0 disables freshen; at most
 *     {@value #MAX_CALLS})
 * @param window the sliding window (default 60 s; at most 1 h)
 * @param maxTimePerCall how long one freshen call may run before the node stops it (default 1 s)
 */
public record FreshenLimits(int maxCalls, Duration window, Duration maxTimePerCall) {

    /** Most calls a window may allow (the limiter keeps one timestamp per call). */
    public static final int MAX_CALLS = 10_000;

    /** The longest window: the limiter's log of grants is kept for one window. */
    public static final Duration MAX_WINDOW = Duration.ofHours(1);

    private static final FreshenLimits DEFAULTS = new FreshenLimits(10, Duration.ofSeconds(60), Duration.ofSeconds(1));

    /** Validates every field. */
    public FreshenLimits {
        requireArgument(maxCalls >= 0 && maxCalls <= MAX_CALLS,
                "freshen maxCalls must be between 0 and %d, got %d", MAX_CALLS, maxCalls);
        Checks.positive(window, "freshen window");
        requireArgument(window.compareTo(MAX_WINDOW) <= 0, "freshen window must be at most 1 h, got %s", seconds(window));
        Checks.positive(maxTimePerCall, "freshen maxTimePerCall");
    }

    /** @return 10 calls per 60 s, 1 s each */
    public static FreshenLimits defaults() {
        return DEFAULTS;
    }
}
