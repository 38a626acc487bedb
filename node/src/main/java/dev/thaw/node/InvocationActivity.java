package dev.thaw.node;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * When the node last accepted or ended an invocation. Background work that waits for a quiet node
 * (the store's read warm-up, its disk fills) asks here too: a node answering calls one after another
 * has no instance busy for a moment between two of them, and work started in that moment (its JIT
 * compiling at normal priority, whatever the priority of the work's own threads) ran beside the
 * next call. The clock is injected so that tests move it by hand.
 */
final class InvocationActivity {
    private final LongSupplier nanoTime;
    private final long quietAfterNanos;
    private volatile long lastNanos;

    /**
     * @param nanoTime the clock ({@code System::nanoTime} on a node)
     * @param quietAfter how long after the last invocation the node counts as quiet
     */
    InvocationActivity(LongSupplier nanoTime, Duration quietAfter) {
        this.nanoTime = nanoTime;
        this.quietAfterNanos = quietAfter.toNanos();
        this.lastNanos = nanoTime.getAsLong() - quietAfterNanos - 1;
    }

    /** An invocation was accepted or ended just now. */
    void touch() {
        lastNanos = nanoTime.getAsLong();
    }

    /** @return whether no invocation was accepted or ended for longer than the quiet time */
    boolean quiet() {
        return nanoTime.getAsLong() - lastNanos > quietAfterNanos;
    }
}
