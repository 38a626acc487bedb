package dev.thaw.store;

import dev.thaw.linux.Libc;
import dev.thaw.linux.ProcStat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The store's background work (uploads to S3, disk fills, the read warm-up) runs on threads of the
 * {@code SCHED_IDLE} policy: the kernel gives them a CPU only when nothing of normal policy wants
 * it, so on a node serving invocations they take the gaps instead of a core (an upload's work,
 * this side's and the embedded S3 server's, otherwise took both cores of a small node for seconds:
 * docs/BENCHMARKS.md, "Uploads at idle priority"). A node that stays busy must not keep its
 * snapshots from S3 for as long as it does, so a {@link StarvationGuard} gives all idle work the
 * normal policy for a while once a thread of it has waited too long. Where the kernel refuses the
 * policy, or does not show a thread's state and CPU time (which the guard needs), the work runs at
 * normal priority and says so once.
 */
final class Background {
    private static final System.Logger LOG = System.getLogger(Background.class.getName());
    private static final AtomicBoolean REFUSAL_LOGGED = new AtomicBoolean();
    private static final StarvationGuard GUARD = new StarvationGuard(new KernelThreads(), System::nanoTime,
            StarvationGuard.Settings.defaults());
    private static final AtomicBoolean GUARD_STARTED = new AtomicBoolean();
    private static final boolean THREADS_VISIBLE = KernelThreads.visible();

    private Background() {
    }

    /** @return a factory of {@code base}'s threads, each of which makes itself idle first */
    static ThreadFactory threads(ThreadFactory base) {
        return r -> base.newThread(idle(r));
    }

    /** @return {@code work}, run by a thread that first makes itself idle */
    static Runnable idle(Runnable work) {
        return () -> {
            schedule(true);
            try {
                work.run();
            } finally {
                schedule(false);
            }
        };
    }

    /** Makes the calling thread idle (watched by the guard), or normal again: best effort. */
    static void schedule(boolean idle) {
        if (!THREADS_VISIBLE) {
            refused("this kernel does not show a thread's state and CPU time (/proc/thread-self/stat and schedstat),"
                    + " which keep idle work from starving");
            return;
        }
        try {
            int tid = Libc.gettid();
            if (idle) {
                startGuard();
                GUARD.enter(tid, () -> Libc.scheduleIdle(true));
            } else {
                GUARD.leave(tid, () -> Libc.scheduleIdle(false));
            }
        } catch (RuntimeException | LinkageError e) {
            refused(e.getMessage());
        }
    }

    /** @return the guard of every idle thread of this process */
    static StarvationGuard guard() {
        return GUARD;
    }

    private static void refused(String why) {
        if (REFUSAL_LOGGED.compareAndSet(false, true)) {
            LOG.log(System.Logger.Level.INFO, "background work of the snapshot store runs at normal priority: " + why);
        }
    }

    private static void startGuard() {
        if (GUARD_STARTED.compareAndSet(false, true)) {
            long periodMillis = GUARD.settings().period().toMillis();
            Thread.ofPlatform().daemon().name("thaw-store-idle-guard").start(() -> {
                while (true) {
                    try {
                        Thread.sleep(periodMillis);
                    } catch (InterruptedException e) {
                        return;
                    }
                    GUARD.tick();
                }
            });
        }
    }

    /** This process's threads, as {@code /proc} shows them and {@code sched_setscheduler} changes them. */
    private static final class KernelThreads implements StarvationGuard.Threads {
        @Override
        public Optional<StarvationGuard.Sample> sample(int tid) {
            return read(Path.of("/proc/self/task/" + tid));
        }

        @Override
        public boolean schedule(int tid, boolean idle) {
            return Libc.scheduleIdle(tid, idle);
        }

        static boolean visible() {
            return read(Path.of("/proc/thread-self")).isPresent();
        }

        /** The state in {@code stat} (R: running or runnable) and the CPU time in {@code schedstat} (ns, first). */
        private static Optional<StarvationGuard.Sample> read(Path task) {
            return ProcStat.read(task.resolve("stat")).flatMap(stat -> {
                try {
                    String schedstat = Files.readString(task.resolve("schedstat")).trim();
                    return Optional.of(new StarvationGuard.Sample(stat.state() == 'R', Long.parseLong(schedstat.split(" ")[0])));
                } catch (IOException | RuntimeException e) {
                    return Optional.empty();
                }
            });
        }
    }
}
