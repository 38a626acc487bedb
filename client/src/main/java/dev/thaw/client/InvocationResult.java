package dev.thaw.client;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * The answer to a successful invocation together with the node's timing headers.
 *
 * @param status the HTTP status (200)
 * @param body the function's result, JSON
 * @param requestId {@code X-Thaw-Request-Id}, or {@code null} when absent
 * @param startKind {@code X-Thaw-Start}
 * @param initMs {@code X-Thaw-Init-Ms}: the boot phase of a cold start
 * @param restoreMs {@code X-Thaw-Restore-Ms}: the restore phase of a cold start
 * @param durationMs {@code X-Thaw-Duration-Ms}: the handler's run time as the node saw it
 * @param clientLatencyNanos wall time from sending the request to having read the whole answer
 * @param functionVersion {@code X-Thaw-Function-Version}
 */
public record InvocationResult(int status, byte[] body, String requestId, StartKind startKind,
                               OptionalDouble initMs, OptionalDouble restoreMs, OptionalDouble durationMs,
                               long clientLatencyNanos, OptionalLong functionVersion) {

    public InvocationResult {
        Objects.requireNonNull(body, "body");
        Objects.requireNonNull(startKind, "startKind");
        Objects.requireNonNull(initMs, "initMs");
        Objects.requireNonNull(restoreMs, "restoreMs");
        Objects.requireNonNull(durationMs, "durationMs");
        Objects.requireNonNull(functionVersion, "functionVersion");
    }

    /** @return the body decoded as UTF-8 */
    public String bodyAsString() {
        return new String(body, StandardCharsets.UTF_8);
    }

    /** @return {@link #clientLatencyNanos()} in (fractional) milliseconds */
    public double clientLatencyMillis() {
        return clientLatencyNanos / 1_000_000.0;
    }

    /** @return the cold-start phase the node reported: init for boots, restore for restores, else empty */
    public OptionalDouble coldStartMs() {
        return switch (startKind) {
            case BOOT -> initMs;
            case RESTORE -> restoreMs;
            default -> OptionalDouble.empty();
        };
    }

    /** Shows the body's size, not its bytes. */
    @Override
    public String toString() {
        return "InvocationResult[status=" + status + ", body=" + body.length + " bytes, requestId=" + requestId
                + ", startKind=" + startKind + ", initMs=" + initMs + ", restoreMs=" + restoreMs
                + ", durationMs=" + durationMs + ", clientLatencyNanos=" + clientLatencyNanos
                + ", functionVersion=" + functionVersion + "]";
    }
}
