package dev.thaw.store;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * Keeps threads of the {@code SCHED_IDLE} policy from starving.
 *
 * An idle thread runs only when no thread of normal policy wants its CPU, so on a node whose cores
 * are taken for as long as it stays busy, an upload or a fill would wait for as long as that: a
 * snapshot never made durable, a disk tier never filled. The guard looks at every tracked thread
 * once a period: a thread that was runnable at two looks in a row (it wants a CPU) and ran for less
 * than {@code runShare} of the time between them is starving. (The kernel's run-queue wait,
 * {@code run_delay}, would say the same but is added to only when the waiting thread finally runs:
 * a thread that never runs shows no wait at all.) When some tracked thread has been starving at
 * every look for {@code starvedFor}, all idle work is given the normal policy for {@code boost}:
 * every tracked thread, and every thread that enters meanwhile. Idle work is counted as a whole
 * because an upload is a pipeline of threads, some of them idle only while they write one chunk
 * (each such stretch a registration of its own, sampled when it begins): a count per registration
 * would start again with every chunk, and a boost of one thread would leave the next stage
 * starving. Then all of it is idle again. On a node that is never idle the background work so runs
 * boost ÷ (starvedFor + boost) of the time, at a normal thread's share; on a node with gaps it
 * takes the gaps, and the guard never acts.
 *
 * The guard and the threads themselves change the same threads' policies: {@link #enter} and
 * {@link #leave} make a thread's own change under the guard's lock, and the guard changes only
 * threads tracked at that moment, under the same lock, so a thread that went back to normal by
 * itself is never made idle again by the guard.
 */
final class StarvationGuard {
    private static final System.Logger LOG = System.getLogger(StarvationGuard.class.getName());

    /** What the kernel says of a thread at one moment. */
    record Sample(boolean runnable, long cpuNanos) {
    }

    /** The kernel's side: faked in unit tests. */
    interface Threads {
        /** @return thread {@code tid}'s state and the CPU time it has had so far; empty when it is gone */
        Optional<Sample> sample(int tid);

        /** Gives thread {@code tid} the idle or the normal policy; @return false when it is gone */
        boolean schedule(int tid, boolean idle);
    }

    /** The guard's timing. */
    record Settings(Duration period, Duration starvedFor, Duration boost, double runShare) {
        static Settings defaults() {
            return new Settings(Duration.ofMillis(250), Duration.ofSeconds(1), Duration.ofMillis(500), 0.1);
        }
    }

    private final Threads threads;
    private final LongSupplier nanoTime;
    private final Settings settings;
    private final Map<Integer, Tracked> tracked = new HashMap<>();
    private long boostedUntil = Long.MIN_VALUE;
    private long starved;
    private long lastTick = Long.MIN_VALUE;
    private long boosts;

    StarvationGuard(Threads threads, LongSupplier nanoTime, Settings settings) {
        this.threads = threads;
        this.nanoTime = nanoTime;
        this.settings = settings;
    }

    Settings settings() {
        return settings;
    }

    /**
     * Thread {@code tid} becomes idle work, watched from now on: {@code makeIdle} (its own change)
     * runs under the guard's lock, unless idle work is boosted just now, when the thread stays
     * normal until the boost ends.
     */
    void enter(int tid, Runnable makeIdle) {
        Optional<Sample> first = threads.sample(tid); // outside the lock: entering never waits for another's /proc read
        long at = nanoTime.getAsLong();
        synchronized (this) {
            if (boostedUntil == Long.MIN_VALUE) {
                makeIdle.run();
            }
            Tracked t = new Tracked(tid);
            first.ifPresent(s -> t.seen(s, at));
            tracked.put(tid, t);
        }
    }

    /**
     * Thread {@code tid} goes back to the normal policy: {@code makeNormal} (its own change) runs
     * under the guard's lock, after which the guard no longer touches it.
     */
    synchronized void leave(int tid, Runnable makeNormal) {
        tracked.remove(tid);
        makeNormal.run();
    }

    /** One look at every tracked thread; called once a period. */
    void tick() {
        List<Tracked> now;
        synchronized (this) {
            now = new ArrayList<>(tracked.values());
        }
        Map<Tracked, Optional<Sample>> samples = new HashMap<>();
        for (Tracked t : now) {
            samples.put(t, threads.sample(t.tid)); // outside the lock: entering and leaving never wait for /proc
        }
        long at = nanoTime.getAsLong();
        synchronized (this) {
            long sinceLast = lastTick == Long.MIN_VALUE ? 0 : at - lastTick;
            lastTick = at;
            boolean someStarving = false;
            for (Tracked t : now) {
                Optional<Sample> sample = samples.get(t);
                if (tracked.get(t.tid) != t) {
                    continue; // it left, or entered again: a fresh registration
                }
                if (sample.isEmpty()) {
                    tracked.remove(t.tid);
                } else {
                    someStarving |= starving(t, sample.get(), at);
                }
            }
            if (boostedUntil != Long.MIN_VALUE) {
                if (at - boostedUntil >= 0) {
                    endBoost();
                }
            } else if (someStarving) {
                starved += sinceLast;
                if (starved >= settings.starvedFor().toNanos()) {
                    boost(at);
                }
            } else {
                starved = 0;
            }
        }
    }

    /** @return whether {@code t} wanted a CPU at both looks and barely had one between them */
    private boolean starving(Tracked t, Sample sample, long at) {
        boolean known = t.lastLook != Long.MIN_VALUE;
        long elapsed = at - t.lastLook;
        long ran = sample.cpuNanos() - t.lastCpu;
        boolean wanted = t.lastRunnable && sample.runnable();
        t.seen(sample, at);
        return known && elapsed > 0 && wanted && ran < settings.runShare() * elapsed;
    }

    private void boost(long at) {
        boostedUntil = at + settings.boost().toNanos();
        starved = 0;
        if (boosts++ == 0) {
            LOG.log(System.Logger.Level.INFO, "background work of the snapshot store waited " + settings.starvedFor()
                    .toMillis() + " ms for a CPU: while the node stays this busy, it runs at normal priority for "
                    + settings.boost().toMillis() + " ms at a time");
        }
        for (Tracked t : new ArrayList<>(tracked.values())) {
            change(t, false);
        }
    }

    private void endBoost() {
        boostedUntil = Long.MIN_VALUE;
        starved = 0;
        for (Tracked t : new ArrayList<>(tracked.values())) {
            change(t, true);
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

    /** @return how often idle work was given the normal policy */
    synchronized long boosts() {
        return boosts;
    }

    /** @return whether idle work runs at normal priority just now */
    synchronized boolean boosted() {
        return boostedUntil != Long.MIN_VALUE;
    }

    /** @return how many threads are watched */
    synchronized int tracked() {
        return tracked.size();
    }

    /** One watched thread; its fields are guarded by the guard's lock. */
    private static final class Tracked {
        final int tid;
        long lastLook = Long.MIN_VALUE;
        long lastCpu;
        boolean lastRunnable;

        Tracked(int tid) {
            this.tid = tid;
        }

        void seen(Sample s, long at) {
            lastLook = at;
            lastCpu = s.cpuNanos();
            lastRunnable = s.runnable();
        }
    }
}
