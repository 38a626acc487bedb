package dev.thaw.node.event;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * An asynchronous ({@code Event}) invocation waiting in the queue, with what its attempts so far
 * left behind.
 *
 * @param requestId the request id the caller got back; every attempt runs under it
 * @param function the function's name
 * @param qualifier the qualifier the caller gave (resolved again at each attempt); empty for the
 *     latest version
 * @param payload the event
 * @param enqueuedAt when the node accepted it
 * @param attempts how many attempts have ended in a failure that counts (a function error, a
 *     timeout, a crash); refusals by a busy pool and a node shutting down do not count
 * @param nextAttemptAt when it may run next
 * @param lastError what the last counted attempt failed with, when there was one
 */
public record QueuedEvent(String requestId, String function, Optional<String> qualifier, byte[] payload,
                          Instant enqueuedAt, int attempts, Instant nextAttemptAt, Optional<String> lastError) {

    public QueuedEvent {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(function, "function");
        Objects.requireNonNull(qualifier, "qualifier");
        Objects.requireNonNull(payload, "payload");
        Objects.requireNonNull(enqueuedAt, "enqueuedAt");
        Objects.requireNonNull(nextAttemptAt, "nextAttemptAt");
        Objects.requireNonNull(lastError, "lastError");
        if (attempts < 0) {
            throw new IllegalArgumentException("attempts must be >= 0, got " + attempts);
        }
    }

    /** @return a new event, due at once */
    public static QueuedEvent of(String requestId, String function, Optional<String> qualifier, byte[] payload,
                                 Instant now) {
        return new QueuedEvent(requestId, function, qualifier, payload, now, 0, now, Optional.empty());
    }

    /** @return this event after one more failed attempt, due again at {@code next} */
    public QueuedEvent failed(String error, Instant next) {
        return new QueuedEvent(requestId, function, qualifier, payload, enqueuedAt, attempts + 1, next, Optional.of(error));
    }

    /** @return this event due again at {@code next}, its attempts unchanged */
    public QueuedEvent postponed(Instant next) {
        return new QueuedEvent(requestId, function, qualifier, payload, enqueuedAt, attempts, next, lastError);
    }

    /** Shows the payload's size, not its bytes. */
    @Override
    public String toString() {
        return "QueuedEvent[" + requestId + " of " + function + qualifier.map(q -> ":" + q).orElse("") + ", "
                + payload.length + " bytes, attempts=" + attempts + ", next=" + nextAttemptAt + "]";
    }
}
