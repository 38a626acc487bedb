package dev.thaw.node.snapshot;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * The node's foreground work as its background work sees it: the invocations in flight, counted
 * here, and whatever else the node says keeps its cores now (instances starting, invocations
 * queued). Background work that can wait, such as a snapshot's publish and upload, waits for a
 * quiet spell: a stretch of time with none of it.
 *
 * <p>A spell, not a moment: a client calling back to back leaves the node with nothing in flight
 * for a fraction of a millisecond between its calls, and work started in such a gap runs through
 * the calls that follow. An invocation that began and ended between two looks is still seen, since
 * its end marks the node busy at that time.
 *
 * <p>The clock is injected, so the policy is tested with a fake one.
 */
public final class ForegroundWork {
    /**
     * The spell background work waits for: far longer than the gap between the calls of a client
     * calling back to back, so work started in a spell this long rarely runs under a stream of
     * calls. Waiting only for an instant without work, the store's read warm-up ran in those gaps
     * and made much of a fresh node's warm tail (docs/BENCHMARKS.md, "Ahead of demand").
     */
    public static final Duration QUIET_SPELL = Duration.ofMillis(250);
    /** How often a wait for a quiet spell looks again, at most. */
    private static final long LOOK_EVERY_NANOS = Duration.ofMillis(25).toNanos();

    private final AtomicInteger inFlight = new AtomicInteger();
    private final LongSupplier ticker;
    private final BooleanSupplier othersBusy;
    private volatile long lastBusyNanos;

    /**
     * @param ticker nanoseconds, monotonic
     * @param othersBusy whether the node is busy with more than the invocations counted here
     */
    public ForegroundWork(LongSupplier ticker, BooleanSupplier othersBusy) {
        this.ticker = ticker;
        this.othersBusy = othersBusy;
        this.lastBusyNanos = ticker.getAsLong(); // a node that just started is not quiet yet
    }

    /** An invocation was accepted. */
    public void began() {
        inFlight.incrementAndGet();
    }

    /** An invocation ended, either way. */
    public void ended() {
        lastBusyNanos = ticker.getAsLong(); // before the count drops: no look sees it idle and the time old
        inFlight.decrementAndGet();
    }

    /** @return whether invocations are in flight now */
    public boolean invocationsInFlight() {
        return inFlight.get() > 0;
    }

    /** @return whether the node has had no foreground work for at least {@code spell}, up to now */
    public boolean quietFor(Duration spell) {
        return quietSince(spell, Long.MIN_VALUE);
    }

    /** @return whether the node has had no foreground work for {@code spell}, counted from {@code notBefore} at the earliest */
    private boolean quietSince(Duration spell, long notBefore) {
        long now = ticker.getAsLong();
        if (inFlight.get() > 0 || othersBusy.getAsBoolean()) {
            lastBusyNanos = now;
            return false;
        }
        return now - Math.max(lastBusyNanos, notBefore) >= spell.toNanos();
    }

    /**
     * Waits until the node has been quiet for {@code spell} since the wait began, or {@code atMost}
     * has passed, or {@code stopWaiting} says so (a node closing).
     *
     * <p>Since the wait began: invocations are counted as they begin and end, but the rest of the
     * node's foreground work (an instance starting) is only seen when someone looks, and before
     * the wait's first look nobody may have looked for a long while. A deploy's boot, over at the
     * moment its snapshot's publish begins to wait, would otherwise pass for quiet, and the publish
     * would run under the first invocations that follow it.
     *
     * @return how long it waited
     */
    public Duration awaitQuiet(Duration spell, Duration atMost, BooleanSupplier stopWaiting) {
        long start = ticker.getAsLong();
        long look = Math.min(LOOK_EVERY_NANOS, Math.max(1, spell.toNanos() / 4));
        while (!quietSince(spell, start) && ticker.getAsLong() - start < atMost.toNanos() && !stopWaiting.getAsBoolean()) {
            LockSupport.parkNanos(look);
            if (Thread.currentThread().isInterrupted()) {
                break;
            }
        }
        return Duration.ofNanos(ticker.getAsLong() - start);
    }
}
