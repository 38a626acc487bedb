package dev.thaw.client;

import dev.thaw.core.StartKind;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * The answer to an invocation together with the node's timing headers.
 *
 * @param status the HTTP status: 200, or for {@link ThawClient#invoke(String, byte[], InvokeOptions)} 202
 *     (an {@code Event} accepted) or 204 (a {@code DryRun})
 * @param body the function's result, JSON; when {@code functionError} is present, Lambda's error body
 *     {@code {"errorMessage","errorType","stackTrace"}}; empty for 202 and 204
 * @param requestId {@code X-Thaw-Request-Id}, or {@code null} when absent
 * @param startKind {@code X-Thaw-Start}
 * @param initMs {@code X-Thaw-Init-Ms}: the boot phase of a cold start
 * @param restoreMs {@code X-Thaw-Restore-Ms}: the restore phase of a cold start
 * @param durationMs {@code X-Thaw-Duration-Ms}: the handler's run time as the node saw it
 * @param clientLatencyNanos wall time from sending the request to having read the whole answer
 * @param functionVersion {@code X-Thaw-Function-Version}
 * @param thawHeaders every {@code X-Thaw-*} header, keyed by the name after the prefix (e.g.
 *     {@code Restore-Mode}, {@code Fetch-Bytes}): the restore figures this record has no field for
 * @param functionError {@code X-Amz-Function-Error} ({@code Unhandled}) when the function failed: its
 *     handler threw, its init failed, it timed out or its instance died
 * @param logResult the invocation's log tail ({@code X-Amz-Log-Result}, decoded), when it was asked for
 */
public record InvocationResult(int status, byte[] body, String requestId, StartKind startKind,
                               OptionalDouble initMs, OptionalDouble restoreMs, OptionalDouble durationMs,
                               long clientLatencyNanos, OptionalLong functionVersion,
                               java.util.Map<String, String> thawHeaders, java.util.Optional<String> functionError,
                               java.util.Optional<String> logResult) {

    /** An answer of a function that did not fail, without its log. */
    public InvocationResult(int status, byte[] body, String requestId, StartKind startKind, OptionalDouble initMs,
                            OptionalDouble restoreMs, OptionalDouble durationMs, long clientLatencyNanos,
                            OptionalLong functionVersion, java.util.Map<String, String> thawHeaders) {
        this(status, body, requestId, startKind, initMs, restoreMs, durationMs, clientLatencyNanos, functionVersion,
                thawHeaders, java.util.Optional.empty(), java.util.Optional.empty());
    }

    /** An answer without further {@code X-Thaw-*} headers. */
    public InvocationResult(int status, byte[] body, String requestId, StartKind startKind, OptionalDouble initMs,
                            OptionalDouble restoreMs, OptionalDouble durationMs, long clientLatencyNanos,
                            OptionalLong functionVersion) {
        this(status, body, requestId, startKind, initMs, restoreMs, durationMs, clientLatencyNanos, functionVersion,
                java.util.Map.of());
    }

    public InvocationResult {
        Objects.requireNonNull(body, "body");
        Objects.requireNonNull(startKind, "startKind");
        Objects.requireNonNull(initMs, "initMs");
        Objects.requireNonNull(restoreMs, "restoreMs");
        Objects.requireNonNull(durationMs, "durationMs");
        Objects.requireNonNull(functionVersion, "functionVersion");
        Objects.requireNonNull(functionError, "functionError");
        Objects.requireNonNull(logResult, "logResult");
        thawHeaders = java.util.Map.copyOf(thawHeaders);
    }

    /** @return the version that ran ({@code X-Amz-Executed-Version}): the same as {@link #functionVersion()} */
    public OptionalLong executedVersion() {
        return functionVersion;
    }

    /** @return the {@code X-Thaw-<name>} header, if the node sent it */
    public java.util.Optional<String> thawHeader(String name) {
        return java.util.Optional.ofNullable(thawHeaders.get(name));
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
                + ", functionVersion=" + functionVersion + ", functionError=" + functionError + "]";
    }
}
