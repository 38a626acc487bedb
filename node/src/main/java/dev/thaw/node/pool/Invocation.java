package dev.thaw.node.pool;

import dev.thaw.core.StartKind;
import dev.thaw.core.ThawException;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * One request to run a function, from the moment the node accepted it until it is answered. Its
 * future completes exactly once: with a result, or with a {@link ThawException} saying what went
 * wrong. The pool fills in how it was started and its deadline before an instance can take it.
 */
public final class Invocation {
    private final String requestId;
    private final byte[] payload;
    private final CompletableFuture<InvocationResult> result = new CompletableFuture<>();
    private volatile long startedNanos;
    private volatile long deadlineEpochMs;
    private volatile StartKind start = StartKind.WARM;
    private volatile double coldStartMs = Double.NaN;
    private volatile double checkpointMs = Double.NaN;
    private volatile StartReport startReport;
    private final dev.thaw.node.xdt.TransferTally transfers = new dev.thaw.node.xdt.TransferTally();

    /** @param payload the event, as the runtime receives it */
    public Invocation(byte[] payload) {
        this(UUID.randomUUID().toString(), payload);
    }

    /**
     * @param requestId the request id the runtime and the caller see
     * @param payload the event, as the runtime receives it
     */
    public Invocation(String requestId, byte[] payload) {
        this.requestId = Objects.requireNonNull(requestId, "requestId");
        this.payload = Objects.requireNonNull(payload, "payload");
    }

    public String requestId() {
        return requestId;
    }

    public byte[] payload() {
        return payload;
    }

    /** @return the data transfers (XDT) the invocation's handler made, for its REPORT line */
    public dev.thaw.node.xdt.TransferTally transfers() {
        return transfers;
    }

    /** @return the future the caller waits on */
    public CompletableFuture<InvocationResult> result() {
        return result;
    }

    /** @return the wall-clock deadline handed to the runtime, in ms since the epoch (0 until assigned) */
    public long deadlineEpochMs() {
        return deadlineEpochMs;
    }

    /** @return how the instance that serves it started */
    public StartKind start() {
        return start;
    }

    public boolean isDone() {
        return result.isDone();
    }

    /** Answers the caller with an error; does nothing when already answered. */
    public void fail(ThawException e) {
        result.completeExceptionally(e);
    }

    /** The runtime took it: its handler's run time counts from here. */
    public void markStarted(long nanos) {
        startedNanos = nanos;
    }

    long startedNanos() {
        return startedNanos;
    }

    void assigned(long deadline, StartKind kind, double coldMs, double checkpoint, StartReport report) {
        deadlineEpochMs = deadline;
        start = kind;
        coldStartMs = coldMs;
        checkpointMs = checkpoint;
        startReport = report;
    }

    double coldStartMs() {
        return coldStartMs;
    }

    double checkpointMs() {
        return checkpointMs;
    }

    StartReport startReport() {
        return startReport;
    }
}
