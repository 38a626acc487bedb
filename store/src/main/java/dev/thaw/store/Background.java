package dev.thaw.store;

import dev.thaw.linux.Libc;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The store's background work (uploads to S3, disk fills, the read warm-up) runs on threads of the
 * {@code SCHED_IDLE} policy: the kernel gives them a CPU only when nothing of normal policy wants
 * it, so on a node serving invocations they take the gaps instead of a core (an upload's work,
 * this side's and the embedded S3 server's, otherwise took both cores of a small node for seconds:
 * docs/BENCHMARKS.md, "Uploads at idle priority"). Where the kernel refuses the policy, the work
 * runs as before and says so once.
 */
final class Background {
    private static final System.Logger LOG = System.getLogger(Background.class.getName());
    private static final AtomicBoolean REFUSAL_LOGGED = new AtomicBoolean();

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
            work.run();
        };
    }

    /** Makes the calling thread idle, or normal again: best effort. */
    static void schedule(boolean idle) {
        try {
            Libc.scheduleIdle(idle);
        } catch (RuntimeException | LinkageError e) {
            if (REFUSAL_LOGGED.compareAndSet(false, true)) {
                LOG.log(System.Logger.Level.INFO, "background work of the snapshot store runs at normal priority: "
                        + e.getMessage());
            }
        }
    }
}
