package dev.thaw.it;

import java.time.Duration;
import java.util.function.Predicate;

/**
 * Polling for what a node does in the background (retiring instances, uploading, logging after it
 * answered). The caller asserts on the value returned, so a timeout fails with what was last seen.
 */
final class Eventually {
    private Eventually() {
    }

    /** A look at the node, which may fail with a checked exception of type {@code E}. */
    @FunctionalInterface
    interface Probe<T, E extends Exception> {
        T look() throws E;
    }

    /**
     * Looks every {@code every} until {@code done} holds for what was seen or {@code within} has passed.
     *
     * @return the last value seen: one {@code done} holds for, or the one seen at the deadline
     */
    static <T, E extends Exception> T poll(Probe<T, E> probe, Predicate<? super T> done, Duration within, Duration every)
            throws E, InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        T seen = probe.look();
        while (!done.test(seen) && System.nanoTime() < deadline) {
            Thread.sleep(every);
            seen = probe.look();
        }
        return seen;
    }
}
