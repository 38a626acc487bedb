package dev.thaw.scaling;

import static dev.thaw.scaling.Checks.requireArgument;
import static dev.thaw.scaling.Checks.seconds;

import java.time.Duration;

/**
 * How a {@link ChainPredictor} learns and forgets. Every instance is valid: the constructor rejects
 * a bad value with a message naming it.
 *
 * @param window B follows A when B starts within this long after A starts (default 2 s; at most
 *     10 min); also how long a prediction may wait for B before it counts as wasted
 * @param minSupport a learned chain A to B predicts when B followed A in at least this many of A's
 *     recent rounds (default 3; 1 to {@code history})
 * @param history how many of A's most recent rounds count (default 10; 1 to 1000)
 * @param forgetAfter rounds older than this no longer count, so a chain that has not been seen for
 *     this long stops predicting (default 1 h; at least the window)
 */
public record ChainSettings(Duration window, int minSupport, int history, Duration forgetAfter) {

    /** Longest window. */
    public static final Duration MAX_WINDOW = Duration.ofMinutes(10);
    /** Most rounds kept per function. */
    public static final int MAX_HISTORY = 1000;

    private static final ChainSettings DEFAULTS =
            new ChainSettings(Duration.ofSeconds(2), 3, 10, Duration.ofHours(1));

    /** Validates every field. */
    public ChainSettings {
        Checks.positive(window, "window");
        requireArgument(window.compareTo(MAX_WINDOW) <= 0,
                "window must be at most %s, got %s", seconds(MAX_WINDOW), seconds(window));
        requireArgument(history >= 1 && history <= MAX_HISTORY,
                "history must be between 1 and %d rounds, got %d", MAX_HISTORY, history);
        requireArgument(minSupport >= 1 && minSupport <= history,
                "minSupport must be between 1 and history (%d), got %d", history, minSupport);
        Checks.positive(forgetAfter, "forgetAfter");
        requireArgument(forgetAfter.compareTo(window) >= 0,
                "forgetAfter (%s) must be at least the window (%s)", seconds(forgetAfter), seconds(window));
    }

    /** @return window 2 s, support 3 of the last 10 rounds, forgotten after 1 h */
    public static ChainSettings defaults() {
        return DEFAULTS;
    }

    /**
     * @param w the window
     * @return these settings with another window
     */
    public ChainSettings withWindow(Duration w) {
        return new ChainSettings(w, minSupport, history, forgetAfter);
    }

    /**
     * @param min the minimum support
     * @param rounds the rounds of history it counts in
     * @return these settings with another support: {@code min} of the last {@code rounds} rounds
     */
    public ChainSettings withSupport(int min, int rounds) {
        return new ChainSettings(window, min, rounds, forgetAfter);
    }

    /**
     * @param d the age at which rounds stop counting
     * @return these settings with another forgetting time
     */
    public ChainSettings withForgetAfter(Duration d) {
        return new ChainSettings(window, minSupport, history, d);
    }
}
