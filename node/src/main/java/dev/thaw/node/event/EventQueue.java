package dev.thaw.node.event;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Where a node keeps its asynchronous invocations until their final outcome, and the ones that
 * failed for good. Every method returns once its change is durable: an event added survives a crash
 * of the node the moment {@link #add} returns, and stays until {@link #remove} or
 * {@link #deadLetter} recorded how it ended. A node of a cluster would keep this in shared storage;
 * {@link #files(Path)} keeps it in the node's data directory.
 */
public interface EventQueue {

    /** @return a queue kept in files under {@code dir} (written to a temporary file, synced, renamed into place) */
    static EventQueue files(Path dir) throws IOException {
        return new FileEventQueue(dir);
    }

    /** Adds an event (or replaces the one with the same request id: a later attempt's state). */
    void add(QueuedEvent event) throws IOException;

    /** @return every event that has not reached its final outcome, in no particular order */
    List<QueuedEvent> pending() throws IOException;

    /** The event succeeded: it leaves the queue. */
    void remove(QueuedEvent event) throws IOException;

    /** The event failed for good: it moves to its function's dead letters. */
    void deadLetter(DeadLetter letter) throws IOException;

    /** @return the function's dead letters, oldest failure first */
    List<DeadLetter> deadLetters(String function) throws IOException;

    /** Deletes the function's dead letters. @return how many there were */
    int clearDeadLetters(String function) throws IOException;
}
