package dev.thaw.node.pool;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SchedulerTest {

    @Test
    void cancelledTimeoutsLeaveTheTimerAtOnce() throws Exception {
        var timer = Scheduler.timer("test-timer");
        try {
            Scheduler scheduler = Scheduler.of(timer);
            List<Scheduler.Cancellable> armed = new ArrayList<>();
            for (int i = 0; i < 10_000; i++) {
                armed.add(scheduler.schedule(() -> {
                }, Duration.ofMinutes(15)));
            }
            armed.forEach(Scheduler.Cancellable::cancel);

            assertThat(((ScheduledThreadPoolExecutor) timer).getQueue()).isEmpty();
        } finally {
            timer.shutdownNow();
        }
    }

    @Test
    void aTimeoutNotCancelledRunsOnTheNamedDaemonThread() throws Exception {
        var timer = Scheduler.timer("test-timer");
        try {
            var ran = new CountDownLatch(1);
            var thread = new Thread[1];
            Scheduler.of(timer).schedule(() -> {
                thread[0] = Thread.currentThread();
                ran.countDown();
            }, Duration.ofMillis(10));

            assertThat(ran.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(thread[0].getName()).isEqualTo("test-timer");
            assertThat(thread[0].isDaemon()).isTrue();
        } finally {
            timer.shutdownNow();
        }
    }
}
