package dev.thaw.cluster;

import java.time.Instant;

/**
 * Whether the handle is connected to etcd, since when and, when it is not, why.
 *
 * @param status connected, disconnected or closed
 * @param since when the handle entered this status (its clock)
 * @param reason why it is disconnected (the last failure seen), or empty when connected
 */
public record ConnectionState(Status status, Instant since, String reason) {

    /** Validates every field. */
    public ConnectionState {
        Checks.notNull("status", status);
        Checks.notNull("since", since);
        Checks.notNull("reason", reason);
    }

    /** The handle's connection status. */
    public enum Status {
        /** etcd answers, the lease is alive and (after a {@link Membership#join}) the member record is registered. */
        CONNECTED,
        /** etcd cannot be reached; the handle is trying again with backoff. */
        DISCONNECTED,
        /** {@link Coordination#close()} was called. */
        CLOSED
    }

    /** @return whether the status is {@link Status#CONNECTED} */
    public boolean isConnected() {
        return status == Status.CONNECTED;
    }

    @Override
    public String toString() {
        return status + " since " + since + (reason.isEmpty() ? "" : " (" + reason + ")");
    }
}
