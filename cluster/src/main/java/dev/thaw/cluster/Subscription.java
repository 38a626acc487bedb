package dev.thaw.cluster;

/** A listener's registration; closing it stops deliveries (one already running may finish). */
public interface Subscription extends AutoCloseable {

    /** Stops deliveries to the listener. Idempotent. */
    @Override
    void close();
}
