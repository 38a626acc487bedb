package dev.thaw.scaling;

import static dev.thaw.scaling.Checks.decimal;

/**
 * What an {@link Autoscaler} decided, the figures it decided on (for metrics and {@code describe})
 * and why.
 *
 * @param desiredInstances how many instances the function should have now
 * @param readyInstances the ready instances the decision was made for (as passed to
 *     {@link Autoscaler#decide(int)})
 * @param inFlight requests in flight when deciding, buffered ones included
 * @param stableConcurrency average concurrency over the stable window
 * @param panicConcurrency average concurrency over the panic window
 * @param panicking whether the autoscaler is in panic mode (it then never scales down)
 * @param excessBurstCapacity Knative's excess burst capacity: what the ready instances can take
 *     beyond the panic window's concurrency and the target burst capacity, rounded down; negative
 *     when a burst of that size would have to wait for new instances; 0 when the target burst
 *     capacity is 0
 * @param reason a short sentence saying which rule set the count
 */
public record ScaleDecision(
        int desiredInstances,
        int readyInstances,
        int inFlight,
        double stableConcurrency,
        double panicConcurrency,
        boolean panicking,
        int excessBurstCapacity,
        String reason) {

    /** @return desired, ready, the concurrencies, panic and the reason on one line */
    @Override
    public String toString() {
        return "desired " + desiredInstances + " (ready " + readyInstances + ", in flight " + inFlight
                + ", stable " + decimal(stableConcurrency) + ", panic " + decimal(panicConcurrency)
                + (panicking ? ", panicking" : "") + "): " + reason;
    }
}
