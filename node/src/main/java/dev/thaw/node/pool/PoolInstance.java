package dev.thaw.node.pool;

import dev.thaw.core.StartKind;
import java.util.OptionalLong;

/**
 * An instance as its pool sees it: the pool keeps its scheduling state (starting, idle, busy) and
 * the instance moves invocations to and from its runtime. Implemented by the process behind it, or
 * by a fake in the pool's tests.
 */
public interface PoolInstance {
    /** @return a short id, unique on this node */
    String id();

    /** @return how it started: {@link StartKind#BOOT}, {@link StartKind#RESTORE} or {@link StartKind#PREWARMED} */
    StartKind kind();

    /**
     * Hands an invocation to the instance's runtime. Everything the runtime reads of it (deadline,
     * payload) is set before this call.
     */
    void hand(Invocation invocation);

    /** Stops the instance; its exit is reported through {@link InstanceEvents#exited}, once. */
    void stop();

    /** @return how its start went, for its first invocation; null when there is nothing to say */
    StartReport startReport();

    /** @return for the instance whose boot took the function's snapshot, how long the checkpoint took; else NaN */
    double checkpointMs();

    /** Its first invocation was answered: what its start measured is final now. */
    void firstInvocationAnswered();

    /** Starts a new measurement of the instance's peak memory (at each invocation's start). */
    void resetMemoryPeak();

    /** @return the most memory the instance used since {@link #resetMemoryPeak()}, when it is measured */
    OptionalLong memoryPeakBytes();

    /**
     * The invocation has been answered (or timed out, or its instance died): once every line the
     * instance printed up to now has been read, the instance calls {@link Invocation#logCaptureDone()}
     * for an invocation that {@linkplain Invocation#capturesLog() captures its log}. An instance
     * whose output is read synchronously does it at once.
     */
    default void endLogCapture(Invocation invocation) {
        invocation.logCaptureDone();
    }
}
