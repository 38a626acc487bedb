package dev.thaw.node;

import dev.thaw.core.ThawException;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * One request to run a function, from the moment the node accepted it until it is answered. The
 * future completes exactly once: with a result, or with a {@link ThawException} saying what went wrong.
 */
final class Invocation {
    final String requestId = UUID.randomUUID().toString();
    final byte[] payload;
    final long acceptedNanos = System.nanoTime();
    final CompletableFuture<InvocationResult> result = new CompletableFuture<>();
    volatile long startedNanos;
    volatile long deadlineEpochMs;
    /** How the instance that serves it started: warm, restore or boot. */
    volatile String start = "warm";
    volatile double coldStartMs = Double.NaN;
    volatile double checkpointMs = Double.NaN;
    /** For the first invocation of a restored instance: how the restore went. */
    volatile RestoreReport restore;

    Invocation(byte[] payload) {
        this.payload = payload;
    }

    boolean isDone() {
        return result.isDone();
    }

    void fail(ThawException e) {
        result.completeExceptionally(e);
    }
}
