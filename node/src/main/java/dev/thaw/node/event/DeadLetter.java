package dev.thaw.node.event;

import java.time.Instant;
import java.util.Objects;

/**
 * An event whose attempts all failed, kept for its function's owner to read (Lambda's dead-letter
 * queue, on the node).
 *
 * @param event the event as it was after its last attempt (attempts, last error, payload)
 * @param failedAt when its last attempt ended
 * @param error why it was given up: the last attempt's error
 */
public record DeadLetter(QueuedEvent event, Instant failedAt, String error) {
    public DeadLetter {
        Objects.requireNonNull(event, "event");
        Objects.requireNonNull(failedAt, "failedAt");
        Objects.requireNonNull(error, "error");
    }
}
