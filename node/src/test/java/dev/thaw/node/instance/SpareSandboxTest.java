package dev.thaw.node.instance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.node.pool.Scheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class SpareSandboxTest {
    /** Keeps what is scheduled; the test runs it. */
    private final List<Runnable> scheduled = new ArrayList<>();
    private final List<Duration> delays = new ArrayList<>();
    private final Scheduler timers = (task, delay) -> {
        scheduled.add(task);
        delays.add(delay);
        return () -> { };
    };
    private final AtomicInteger made = new AtomicInteger();
    private final List<String> discarded = new ArrayList<>();
    private final SpareSandbox<String> spare = new SpareSandbox<>(() -> "spare-" + made.incrementAndGet(), discarded::add, timers);

    @Test
    void aRefillIsMadeAMomentLaterAndTakenOnce() {
        assertThat(spare.take()).as("nothing made yet").isEmpty();
        spare.refillSoon();
        spare.refillSoon();
        assertThat(scheduled).as("one refill at a time").hasSize(1);
        assertThat(delays).containsExactly(SpareSandbox.REFILL_DELAY);
        spare.make(); // what the scheduled refill runs
        spare.refillSoon();
        assertThat(scheduled).as("none while one is ready").hasSize(1);
        assertThat(spare.take()).contains("spare-1");
        assertThat(spare.take()).isEmpty();
        assertThat(discarded).isEmpty();
    }

    @Test
    void closingDiscardsTheReadySpareAndAnyMadeAfter() {
        spare.make();
        spare.close();
        assertThat(discarded).containsExactly("spare-1");
        spare.refillSoon();
        assertThat(scheduled).as("no refills once closed").isEmpty();
        spare.make();
        assertThat(made).as("a refill already under way makes nothing after the close").hasValue(1);
        assertThat(spare.take()).isEmpty();
    }

    @Test
    void aSpareThatCannotBeMadeLeavesTheNextRestoreToMakeItsOwn() {
        SpareSandbox<String> failing = new SpareSandbox<>(() -> {
            throw new IllegalStateException("no network namespace");
        }, discarded::add, timers);
        failing.refillSoon();
        failing.make();
        assertThat(failing.take()).isEmpty();
        failing.refillSoon();
        assertThat(scheduled).as("it may be tried again later").hasSize(2);
    }
}
