package dev.thaw.node.pool;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
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

    /**
     * @param threadName the name of the timer's one thread (a daemon)
     * @return a timer whose cancelled tasks leave its queue at once
     */
    static ScheduledExecutorService timer(String threadName) {
        var timer = new ScheduledThreadPoolExecutor(1, Thread.ofPlatform().daemon().name(threadName).factory());
        // Every invocation arms its timeout here and cancels it when the answer comes. Left in the queue
        // until due, as a timer keeps them by default, the cancelled ones pile up (a timeout's length of
        // invocations: tens of thousands on a busy node), each arming sifts through all of them, and the
        // timer's thread wakes for every one as it comes due, beside the invocations.
        timer.setRemoveOnCancelPolicy(true);
        return timer;
    }
}
