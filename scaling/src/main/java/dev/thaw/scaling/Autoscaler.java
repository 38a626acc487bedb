package dev.thaw.scaling;

import java.util.Objects;
import java.util.Optional;

/**
 * One function's autoscaler, with the semantics of Knative's KPA: the instance count follows the
 * average concurrency over a stable window (60 s), or over a panic window (6 s) while a burst is
 * on, bounded by rate limits and by the function's minimum and maximum; it scales to zero after a
 * grace period without traffic and wakes up at once on the first request after zero.
 *
 * <p>The node feeds it every request ({@link #requestStarted()}, {@link #requestEnded()}) or
 * samples of the in-flight count, and calls {@link #decide(int)} every
 * {@link ScalingSettings#tickInterval() tick} (2 s), plus once at once whenever
 * {@code requestStarted} (or {@code sample}) returns {@code true}. The autoscaler starts and stops
 * nothing: the node brings the function to {@link ScaleDecision#desiredInstances()}.
 *
 * <p>All methods are thread-safe. Requests may be reported from any thread while another decides;
 * nothing calls back into the node.
 */
public interface Autoscaler {

    /**
     * @param settings the function's scaling settings
     * @param ticker the time source
     * @return an autoscaler with no history, wanting no instances until told otherwise
     */
    static Autoscaler create(ScalingSettings settings, Ticker ticker) {
        return new KnativeAutoscaler(Objects.requireNonNull(settings, "settings"), Objects.requireNonNull(ticker, "ticker"));
    }

    /**
     * A request for the function was accepted: it runs or waits in the buffer.
     *
     * @return {@code true} when the function was at zero (its last decision wanted no instances, or
     *     it has not decided yet) and nothing was in flight: call {@link #decide(int)} now instead of
     *     waiting for the tick, as Knative's activator pokes its autoscaler
     */
    boolean requestStarted();

    /**
     * A request was answered (served, failed, timed out or refused after being accepted).
     *
     * @throws IllegalStateException when nothing is in flight
     */
    void requestEnded();

    /**
     * The in-flight count as measured now, for a node that samples instead of reporting events.
     *
     * @param inFlight requests accepted and not yet answered, buffered ones included
     * @return {@code true} when this sample wakes the function from zero (see {@link #requestStarted()})
     */
    boolean sample(int inFlight);

    /**
     * Decides how many instances the function should have now.
     *
     * @param readyInstances instances able to take a request now (idle or busy, not starting)
     * @return the decision, which is also kept as {@link #lastDecision()}
     * @throws IllegalArgumentException when {@code readyInstances} is negative
     */
    ScaleDecision decide(int readyInstances);

    /** @return the last decision, empty before the first */
    Optional<ScaleDecision> lastDecision();

    /** @return the settings in force */
    ScalingSettings settings();

    /**
     * Replaces the settings (a changed minimum or maximum, say) and keeps the history: the averages,
     * the panic state and the last decision. A longer stable window starts with the history there is.
     *
     * @param settings the new settings
     */
    void update(ScalingSettings settings);

    /** @return requests in flight now */
    int inFlight();
}
