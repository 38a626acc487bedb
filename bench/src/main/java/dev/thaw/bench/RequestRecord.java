package dev.thaw.bench;

import dev.thaw.core.StartKind;

/**
 * One request of {@code thaw bench run}. Times are milliseconds from the start of the sub-run; an
 * absent server figure is NaN.
 *
 * @param seq position in the sub-run (warm-up requests come first)
 * @param sweepValue the swept parameter's value, or null without a sweep
 * @param function the configured function
 * @param deployment the deployment invoked (a replica, the head of a chain, or the function itself)
 * @param warmup excluded from the statistics
 * @param intendedMs when the schedule wanted it sent
 * @param sentMs when it was actually sent
 * @param endMs when the whole answer had been read
 * @param status HTTP status, 0 when no answer came
 * @param startKind X-Thaw-Start ({@code unknown} for plain HTTP targets)
 * @param initMs X-Thaw-Init-Ms
 * @param restoreMs X-Thaw-Restore-Ms
 * @param durationMs X-Thaw-Duration-Ms
 * @param error the node's errorType, or the client's exception, or null
 */
record RequestRecord(int seq, String sweepValue, String function, String deployment, boolean warmup,
                     double intendedMs, double sentMs, double endMs, int status, StartKind startKind,
                     double initMs, double restoreMs, double durationMs, String error) {

    /** @return latency from the intended send time: includes any wait for the client (no coordinated omission) */
    double latencyMs() {
        return endMs - intendedMs;
    }

    /** @return latency from the actual send time: what a closed-loop client would have measured */
    double serviceMs() {
        return endMs - sentMs;
    }

    /** @return how late the request left compared with the schedule */
    double sendDelayMs() {
        return sentMs - intendedMs;
    }

    boolean ok() {
        return status >= 200 && status < 300 && error == null;
    }

    /** @return init (boot) or restore phase, NaN for warm starts */
    double coldPhaseMs() {
        return switch (startKind) {
            case BOOT -> initMs;
            case RESTORE -> restoreMs;
            default -> Double.NaN;
        };
    }

    /** @return what the node added around the handler: service time minus X-Thaw-Duration-Ms (NaN if unknown) */
    double overheadMs() {
        return serviceMs() - durationMs;
    }
}
