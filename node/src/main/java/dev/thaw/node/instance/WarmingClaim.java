package dev.thaw.node.instance;

import dev.thaw.node.function.Deployment;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.function.LongSupplier;

/*
 * In a cluster, a version's snapshot is warmed by one node at a time, so that the version has one
 * warmed snapshot under its one id: the first node with an instance that qualifies claims the right
 * in etcd, under its lease (SharedSnapshots.claimWarming). Any node may: the traffic of a version
 * may go to nodes other than the one that took its snapshot, and that node may leave.
 *
 * The claim is asked for off the tick's thread (etcd may be slow to answer), and after a refusal
 * not again for RETRY: each node's tick would otherwise ask etcd every 2 s, per version, until the
 * warmed snapshot is named. A holder gives the right back once it has held it for UNUSED with no
 * instance to warm (its traffic went elsewhere), and when the version's instances close here; its
 * death frees it within its lease's TTL. It keeps the right once its warmed snapshot is shared: a
 * node whose view of the catalog lags cannot then warm a second one under the same id. A holder
 * whose attempts all failed keeps it too, so the version keeps its first snapshot in the cluster as
 * on a single node, until that node leaves.
 */
/** A node's claim to warm one version's snapshot in a cluster (see the comment above). */
final class WarmingClaim {
    /** How long after a refusal the right is asked for again. */
    static final Duration RETRY = Duration.ofSeconds(10);
    /** How long the right is held with no instance to warm before it is given back. */
    static final Duration UNUSED = Duration.ofSeconds(30);

    private enum State { FREE, ASKING, HELD }

    private final SharedSnapshots shared;
    private final Deployment deployment;
    private final LongSupplier nanoTime;
    private final Executor background;
    private State state = State.FREE;
    private long askAgainAt;
    private long heldSince;
    /** Why the last ask was refused (which node holds it); empty once held or given back. */
    private Optional<String> refused = Optional.empty();
    /** The version's instances closed here: a right that comes now goes back at once. */
    private boolean closed;

    /**
     * @param nanoTime the clock ({@link System#nanoTime} on a node)
     * @param background runs the calls to etcd
     */
    WarmingClaim(SharedSnapshots shared, Deployment deployment, LongSupplier nanoTime, Executor background) {
        this.shared = shared;
        this.deployment = deployment;
        this.nanoTime = nanoTime;
        this.background = background;
    }

    /** @return whether this node holds the right (a single node always does) */
    synchronized boolean held() {
        return !shared.shared() || state == State.HELD;
    }

    /** @return why the last ask was refused, while no new answer has come */
    synchronized Optional<String> refused() {
        return refused;
    }

    /** Asks for the right in the background, unless an ask is under way or was refused lately. */
    void ask() {
        synchronized (this) {
            if (!shared.shared() || closed || state != State.FREE || nanoTime.getAsLong() - askAgainAt < 0) {
                return;
            }
            state = State.ASKING;
        }
        background.execute(() -> {
            Optional<String> no;
            try {
                no = shared.claimWarming(deployment);
            } catch (RuntimeException e) {
                no = Optional.of(String.valueOf(e.getMessage()));
            }
            boolean closedMeanwhile;
            synchronized (this) {
                long now = nanoTime.getAsLong();
                refused = no;
                state = no.isEmpty() ? State.HELD : State.FREE;
                heldSince = now;
                askAgainAt = now + RETRY.toNanos();
                closedMeanwhile = closed;
            }
            if (closedMeanwhile) {
                release(); // a no-op unless it was granted
            }
        });
    }

    /** The version's instances closed here: the right goes back, now or as it comes. */
    void close() {
        synchronized (this) {
            closed = true;
        }
        release();
    }

    /** The holder had no instance to warm on this tick: after {@link #UNUSED} of that, the right goes back. */
    void nothingToWarm() {
        synchronized (this) {
            if (state != State.HELD || nanoTime.getAsLong() - heldSince < UNUSED.toNanos()) {
                return;
            }
        }
        release();
    }

    /** Gives the right back, if held (in the background). */
    void release() {
        synchronized (this) {
            if (state != State.HELD) {
                return;
            }
            state = State.FREE;
            refused = Optional.empty();
        }
        background.execute(() -> {
            try {
                shared.releaseWarming(deployment);
            } catch (RuntimeException e) {
                // the node leaving the cluster meanwhile: the right goes with its lease
            }
        });
    }
}
