package dev.thaw.store;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.LongSupplier;

/**
 * Keeps threads of the {@code SCHED_IDLE} policy from starving.
 *
 * An idle thread runs only when no thread of normal policy wants its CPU, so on a node whose cores
 * are taken for as long as it stays busy, an upload or a fill would wait for as long as that: a
 * snapshot never made durable, a disk tier never filled. The guard looks at every tracked thread
 * once a period and reads how long it waited on a run queue since the last look (the kernel's
 * {@code run_delay}, which grows only while the thread wants a CPU and has none). A thread that
 * waited for at least {@code starvingShare} of each period for {@code starvedFor} in a row is
 * given the normal policy for {@code boost}, then made idle again. On a node that is never idle the
 * background work so runs about boost ÷ (starvedFor + boost) of the time, at a normal thread's
 * share; on a node with gaps it takes the gaps, as before, and the guard never acts.
 *
 * The guard and the threads themselves change the same threads' policies: {@link #enter} and
 * {@link #leave} are called by a thread around its own change, and the guard changes a thread only
 * while the thread's registration is the one it looked at, under the same lock, so a thread that
 * went back to normal by itself is never made idle again by the guard.
 */
final class StarvationGuard {
    private static final System.Logger LOG = System.getLogger(StarvationGuard.class.getName());

    /** The kernel's side: faked in unit tests. */
    interface Threads {
        /** @return the nanoseconds thread {@code tid} has waited on a run queue so far; empty when it is gone */
        OptionalLong runQueueWait(int tid);

        /** Gives thread {@code tid} the idle or the normal policy; @return false when it is gone */
        boolean schedule(int tid, boolean idle);
    }

    /** The guard's timing. */
    record Settings(Duration period, Duration starvedFor, Duration boost, double starvingShare) {
        static Settings defaults() {
            return new Settings(Duration.ofMillis(250), Duration.ofSeconds(1), Duration.ofMillis(250), 0.5);
        }
    }

    private final Threads threads;
    private final LongSupplier nanoTime;
    private final Settings settings;
    private final Map<Integer, Tracked> tracked = new HashMap<>();
    private long boosts;

    StarvationGuard(Threads threads, LongSupplier nanoTime, Settings settings) {
        this.threads = threads;
        this.nanoTime = nanoTime;
        this.settings = settings;
    }

    Settings settings() {
        return settings;
    }

    /** Thread {@code tid} has just made itself idle: it is watched from now on. */
    synchronized void enter(int tid) {
        tracked.put(tid, new Tracked(tid));
    }

    /**
     * Thread {@code tid} goes back to the normal policy: {@code change} (its own change) runs under
     * the guard's lock, after which the guard no longer touches it.
     */
    synchronized void leave(int tid, Runnable change) {
        tracked.remove(tid);
        change.run();
    }

    /** One look at every tracked thread; called once a period. */
    void tick() {
        List<Tracked> now;
        synchronized (this) {
            now = new ArrayList<>(tracked.values());
        }
        long at = nanoTime.getAsLong();
        for (Tracked t : now) {
            OptionalLong wait = threads.runQueueWait(t.tid);
            synchronized (this) {
                if (tracked.get(t.tid) != t) {
                    continue; // it left, or entered again: a fresh registration
                }
                if (wait.isEmpty()) {
                    tracked.remove(t.tid);
                } else {
                    look(t, wait.getAsLong(), at);
                }
            }
        }
    }

    private void look(Tracked t, long wait, long at) {
        long waited = wait - t.lastWait;
        long elapsed = at - t.lastLook;
        boolean first = t.lastLook == Long.MIN_VALUE;
        t.lastWait = wait;
        t.lastLook = at;
        if (first) {
            return;
        }
        if (t.boostedUntil != Long.MIN_VALUE) {
            if (at - t.boostedUntil >= 0) {
                t.boostedUntil = Long.MIN_VALUE;
                t.starved = 0;
                change(t, true);
            }
            return;
        }
        t.starved = waited >= settings.starvingShare() * elapsed ? t.starved + elapsed : 0;
        if (t.starved >= settings.starvedFor().toNanos()) {
            t.boostedUntil = at + settings.boost().toNanos();
            if (boosts++ == 0) {
                LOG.log(System.Logger.Level.INFO, "background work of the snapshot store waited " + settings.starvedFor()
                        .toMillis() + " ms for a CPU: while the node stays this busy, it runs at normal priority for "
                        + settings.boost().toMillis() + " ms at a time");
            }
            change(t, false);
        }
    }

    private void change(Tracked t, boolean idle) {
        try {
            if (!threads.schedule(t.tid, idle)) {
                tracked.remove(t.tid);
            }
        } catch (RuntimeException e) {
            tracked.remove(t.tid);
            LOG.log(System.Logger.Level.DEBUG, "thread " + t.tid + ": " + e.getMessage());
        }
    }

    /** @return how often a starving thread was given the normal policy */
    synchronized long boosts() {
        return boosts;
    }

    /** @return how many watched threads run at normal priority for now */
    synchronized int boosted() {
        return (int) tracked.values().stream().filter(t -> t.boostedUntil != Long.MIN_VALUE).count();
    }

    /** @return how many threads are watched */
    synchronized int tracked() {
        return tracked.size();
    }

    /** One watched thread; its fields are guarded by the guard's lock. */
    private static final class Tracked {
        final int tid;
        long lastWait;
        long lastLook = Long.MIN_VALUE;
        long starved;
        long boostedUntil = Long.MIN_VALUE;

        Tracked(int tid) {
            this.tid = tid;
        }
    }
}
