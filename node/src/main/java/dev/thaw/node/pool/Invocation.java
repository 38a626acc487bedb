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
 *
 * <p>An invocation that {@linkplain #capturesLog() captures its log} (Lambda's {@code LogType: Tail})
 * collects its own log: the pool's {@code START} line, the lines its instance printed while serving
 * it (and no other invocation's), then {@code END} and {@code REPORT}. The instance says when every
 * line it printed before answering has been read ({@link #logCaptureDone()}).
 */
public final class Invocation {
    /** Bytes of instance output an invocation keeps for its log tail: Lambda's tail is 4 KB. */
    static final int CAPTURE_BYTES = 8 * 1024;

    private final String requestId;
    private final byte[] payload;
    private final boolean followsLatest;
    private final boolean capturesLog;
    private final CompletableFuture<InvocationResult> result = new CompletableFuture<>();
    private volatile long startedNanos;
    private volatile long acceptedNanos;
    private volatile double prewarmedAgeMs = Double.NaN;
    /** Why the platform calls the function's freshen hook with this invocation; null for a caller's invocation. */
    private final String freshen;
    /** Why the node asks the instance for a snapshot of itself instead of an invocation; null otherwise. */
    private final String checkpoint;
    private volatile long deadlineEpochMs;
    private volatile StartKind start = StartKind.WARM;
    private volatile double coldStartMs = Double.NaN;
    private volatile double checkpointMs = Double.NaN;
    private volatile StartReport startReport;
    private volatile long version;
    private volatile int timeoutMs;
    /** The captured log: the pool's opening line, the instance's lines, the pool's closing lines. Guarded by itself. */
    private final java.util.ArrayDeque<String> printed = new java.util.ArrayDeque<>();
    private int printedBytes;
    private String opening;
    private final java.util.List<String> closing = new java.util.ArrayList<>();
    private final java.util.concurrent.CountDownLatch captured = new java.util.concurrent.CountDownLatch(1);
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
        this(requestId, payload, false, false);
    }

    /**
     * A call of the function's freshen hook, not of its handler: made by the platform before an
     * invocation it predicts, answered to no caller.
     *
     * @param reason why (the prediction), passed to the hook
     */
    public static Invocation freshen(String reason) {
        return new Invocation("freshen-" + java.util.UUID.randomUUID(), new byte[0], false, false, reason, null);
    }

    /**
     * Not an invocation: the node's request that the instance take the snapshot handshake now (a
     * warmed snapshot of it), handed to an instance its pool lent out ({@link FunctionPool#lend}).
     *
     * @param reason why, told to the runtime
     */
    public static Invocation checkpoint(String reason) {
        return new Invocation("checkpoint-" + java.util.UUID.randomUUID(), new byte[0], false, false, null, reason);
    }

    /**
     * @param requestId the request id the runtime and the caller see
     * @param payload the event, as the runtime receives it
     * @param followsLatest whether it names the function's latest version rather than a fixed one: while
     *     it waits, a redeploy moves it to the new version
     * @param capturesLog whether it collects its own log ({@link #logTail(int)})
     */
    public Invocation(String requestId, byte[] payload, boolean followsLatest, boolean capturesLog) {
        this(requestId, payload, followsLatest, capturesLog, null, null);
    }

    /** @return why the platform calls the freshen hook with it; empty for a caller's invocation */
    public java.util.Optional<String> freshenReason() {
        return java.util.Optional.ofNullable(freshen);
    }

    public boolean isFreshen() {
        return freshen != null;
    }

    /** @return why the node asks for the snapshot handshake with it; empty for an invocation */
    public java.util.Optional<String> checkpointReason() {
        return java.util.Optional.ofNullable(checkpoint);
    }

    /** @return for the first invocation of a pre-restored clone, how long the clone had waited ready; else NaN */
    public double prewarmedAgeMs() {
        return prewarmedAgeMs;
    }

    long acceptedNanos() {
        return acceptedNanos;
    }

    private Invocation(String requestId, byte[] payload, boolean followsLatest, boolean capturesLog, String freshen,
                       String checkpoint) {
        this.freshen = freshen;
        this.checkpoint = checkpoint;
        this.requestId = Objects.requireNonNull(requestId, "requestId");
        this.payload = Objects.requireNonNull(payload, "payload");
        this.followsLatest = followsLatest;
        this.capturesLog = capturesLog;
    }

    /** @return whether a redeploy moves it, while it waits, to the function's new latest version */
    public boolean followsLatest() {
        return followsLatest;
    }

    /** @return whether it collects its own log */
    public boolean capturesLog() {
        return capturesLog;
    }

    /** @return the version of the pool that accepted it last (0 before any did) */
    public long version() {
        return version;
    }

    /** @return the timeout of the version that ran it, in ms (0 before a pool accepted it) */
    public int timeoutMs() {
        return timeoutMs;
    }

    void accepted(long acceptingVersion, int acceptingTimeoutMs, long nanos) {
        version = acceptingVersion;
        timeoutMs = acceptingTimeoutMs;
        acceptedNanos = nanos;
    }

    // ---- its own log -------------------------------------------------------------------------

    /** A line its instance printed while serving it. */
    public void logLine(String line) {
        if (!capturesLog) {
            return;
        }
        synchronized (printed) {
            printed.addLast(line);
            printedBytes += line.length() + 1;
            while (printedBytes > CAPTURE_BYTES && printed.size() > 1) {
                printedBytes -= printed.removeFirst().length() + 1;
            }
        }
    }

    /** Every line its instance printed before it answered has been passed to {@link #logLine}. */
    public void logCaptureDone() {
        captured.countDown();
    }

    /**
     * Waits until its instance's lines have all been read, or {@code max} passes.
     *
     * @return whether they have
     */
    public boolean awaitLogCapture(java.time.Duration max) throws InterruptedException {
        if (!capturesLog) {
            return true;
        }
        synchronized (printed) {
            if (opening == null) {
                return true; // never handed to an instance: there is nothing to read
            }
        }
        return captured.await(max.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    void logOpening(String line) {
        synchronized (printed) {
            opening = line;
        }
    }

    void logClosing(String line) {
        synchronized (printed) {
            closing.add(line);
        }
    }

    /**
     * @param maxBytes how much of its end to keep
     * @return the last {@code maxBytes} bytes (UTF-8) of its log: {@code START}, what its instance printed,
     *     {@code END} and {@code REPORT}, one line each, cut at a character boundary
     */
    public byte[] logTail(int maxBytes) {
        StringBuilder all = new StringBuilder();
        synchronized (printed) {
            if (opening != null) {
                all.append(opening).append('\n');
            }
            printed.forEach(l -> all.append(l).append('\n'));
            closing.forEach(l -> all.append(l).append('\n'));
        }
        byte[] bytes = all.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int from = Math.max(0, bytes.length - maxBytes);
        while (from < bytes.length && (bytes[from] & 0xC0) == 0x80) {
            from++; // not in the middle of a character
        }
        return java.util.Arrays.copyOfRange(bytes, from, bytes.length);
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

    void prewarmed(double ageMs) {
        prewarmedAgeMs = ageMs;
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
