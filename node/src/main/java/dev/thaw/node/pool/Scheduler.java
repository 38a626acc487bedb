package dev.thaw.node.pool;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** Runs a task later (timeouts, watchdogs). Injected so that tests fire timers by moving a fake clock. */
public interface Scheduler {

    /**
     * @param task what to run
     * @param delay after how long
     * @return a handle that cancels the task if it has not run yet
     */
    Cancellable schedule(Runnable task, Duration delay);

    /** A scheduled task that may be cancelled. */
    interface Cancellable {
        void cancel();
    }

    /** @return a scheduler on top of an executor's timer */
    static Scheduler of(ScheduledExecutorService executor) {
        return (task, delay) -> {
            var future = executor.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
            return () -> future.cancel(false);
        };
    }
}
