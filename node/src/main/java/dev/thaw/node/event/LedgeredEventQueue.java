package dev.thaw.node.event;

import dev.thaw.cluster.ClusterException;
import dev.thaw.cluster.EventLedger;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/*
 * A cluster node's event queue: its own files, as a single node's, and the cluster's ledger in etcd
 * (EventLedger), so that the events a node accepted run on another node if it leaves for good.
 *
 * A new event (no attempt yet) is in the files and in the ledger before add returns, or add fails
 * and the event is in neither: the caller is told it was not accepted, never that an event was
 * accepted that only this node's disk holds. A later attempt's state, an event's end, and a dead
 * letter go to the files first; the ledger follows, and a ledger write that fails is logged (a
 * forget is tried again with the next ledger write): the worst outcome is an event run once more.
 *
 * The ledger is the truth about which node owns an event. When the node joins (attach), it
 * reconciles: an event in the ledger under its id but not in its files (its disk was replaced) is
 * added to the files; an event in its files that the ledger does not hold under its id was adopted
 * by another node while this one was away, or ended there, and is dropped. The first time a data
 * directory joins a cluster (no marker file yet) nothing is dropped: its events predate the ledger
 * and are recorded in it instead. Until the node has joined, a new event waits for it (briefly),
 * then is refused.
 */
/** A cluster node's event queue: files plus the cluster's ledger (see the comment above). */
public final class LedgeredEventQueue implements EventQueue {
    private static final System.Logger LOG = System.getLogger("thaw.node");
    private static final String MARKER = "ledgered-cluster";

    private final EventQueue files;
    private final Path dir;
    private final Duration joinWait;
    private final CountDownLatch attached = new CountDownLatch(1);
    private volatile EventLedger ledger;
    /** Events that ended here whose forget did not reach the ledger yet. */
    private final Set<String> unforgotten = ConcurrentHashMap.newKeySet();

    /**
     * @param files the node's own queue
     * @param dir where the marker of a data directory that joined a cluster is kept
     * @param joinWait how long a new event waits for the node to join before it is refused
     */
    public LedgeredEventQueue(EventQueue files, Path dir, Duration joinWait) {
        this.files = files;
        this.dir = dir;
        this.joinWait = joinWait;
    }

    /** A new event was not accepted because the cluster could not record it: the caller may try again. */
    public static final class NotRecorded extends IOException {
        private static final long serialVersionUID = 1L;

        NotRecorded(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** What reconciling with the ledger did. */
    public record Reconciled(int recorded, int fromLedger, int dropped) {
    }

    /**
     * Joins the ledger: reconciles the files with it (see the comment above), then records every
     * new event in it.
     *
     * @param cluster the cluster's name, kept in the marker
     * @throws ClusterException.Unavailable when etcd cannot be reached (nothing changed then)
     */
    public Reconciled attach(EventLedger ledger, String cluster) throws IOException {
        Map<String, byte[]> theirs = ledger.recorded();
        Path marker = dir.resolve(MARKER);
        boolean joinedBefore = Files.exists(marker);
        int recorded = 0;
        int dropped = 0;
        Set<String> local = new HashSet<>();
        for (QueuedEvent e : files.pending()) {
            local.add(e.requestId());
            if (theirs.containsKey(e.requestId())) {
                continue;
            }
            if (joinedBefore) {
                files.remove(e);
                dropped++;
            } else {
                ledger.record(e.requestId(), FileEventQueue.encode(e));
                recorded++;
            }
        }
        List<QueuedEvent> missing = new ArrayList<>();
        for (Map.Entry<String, byte[]> t : theirs.entrySet()) {
            if (!local.contains(t.getKey())) {
                missing.add(FileEventQueue.decode(t.getValue()));
            }
        }
        for (QueuedEvent e : missing) {
            files.add(e);
        }
        Files.createDirectories(dir);
        Files.writeString(marker, cluster + "\n", StandardCharsets.UTF_8);
        this.ledger = ledger;
        attached.countDown();
        return new Reconciled(recorded, missing.size(), dropped);
    }

    /** @return the event a ledger entry holds */
    public static QueuedEvent event(byte[] entry) throws IOException {
        return FileEventQueue.decode(entry);
    }

    @Override
    public void add(QueuedEvent event) throws IOException {
        boolean fresh = event.attempts() == 0;
        EventLedger l = ledger;
        if (l == null && fresh) {
            try {
                if (!attached.await(joinWait.toMillis(), TimeUnit.MILLISECONDS)) {
                    throw new NotRecorded("this node has not joined its cluster yet, so the event could not be recorded"
                            + " where another node would find it; try again", null);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for the node to join its cluster", e);
            }
            l = ledger;
        }
        files.add(event);
        if (l == null) {
            return;
        }
        try {
            l.record(event.requestId(), FileEventQueue.encode(event));
            retryForgets(l);
        } catch (ClusterException e) {
            if (fresh) {
                files.remove(event);
                throw new NotRecorded("the cluster's etcd could not record it (" + e.getMessage() + "), so it was not"
                        + " accepted; try again", e);
            }
            LOG.log(System.Logger.Level.DEBUG, "event " + event.requestId() + ": its new state is not in the cluster's"
                    + " ledger (" + e.getMessage() + "); an adopter would run it from its earlier state");
        }
    }

    @Override
    public List<QueuedEvent> pending() throws IOException {
        return files.pending();
    }

    @Override
    public void remove(QueuedEvent event) throws IOException {
        files.remove(event);
        forget(event.requestId());
    }

    @Override
    public void deadLetter(DeadLetter letter) throws IOException {
        files.deadLetter(letter);
        forget(letter.event().requestId());
    }

    @Override
    public List<DeadLetter> deadLetters(String function) throws IOException {
        return files.deadLetters(function);
    }

    @Override
    public int clearDeadLetters(String function) throws IOException {
        return files.clearDeadLetters(function);
    }

    private void forget(String requestId) {
        EventLedger l = ledger;
        if (l == null) {
            return;
        }
        try {
            l.forget(requestId);
            retryForgets(l);
        } catch (ClusterException e) {
            unforgotten.add(requestId);
            LOG.log(System.Logger.Level.DEBUG, "event " + requestId + " ended; the cluster's ledger is told later ("
                    + e.getMessage() + ")");
        }
    }

    private void retryForgets(EventLedger l) {
        for (String id : List.copyOf(unforgotten)) {
            l.forget(id);
            unforgotten.remove(id);
        }
    }
}
