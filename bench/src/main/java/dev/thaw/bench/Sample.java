package dev.thaw.bench;

import dev.thaw.client.InvocationResult;
import dev.thaw.core.StartKind;
import java.util.OptionalDouble;

/**
 * One measured request.
 *
 * @param function example function name
 * @param series which series it belongs to
 * @param iteration 1-based position in its series
 * @param clientMs latency measured around the call
 * @param serverPhaseMs the node's number for the series' phase: init (boot), restore, or handler duration (warm)
 * @param startKind the start kind the node reported
 */
record Sample(String function, Series series, int iteration, double clientMs, OptionalDouble serverPhaseMs,
              StartKind startKind) {

    static Sample of(String function, Series series, int iteration, InvocationResult result) {
        // The phase follows the start actually seen, so a restore that fell back to booting reports its init.
        OptionalDouble phase = series == Series.WARM ? result.durationMs() : result.coldStartMs();
        return new Sample(function, series, iteration, result.clientLatencyMillis(), phase, result.startKind());
    }

    boolean expectedStart() {
        return startKind == series.expected();
    }
}
