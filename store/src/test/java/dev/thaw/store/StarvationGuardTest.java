package dev.thaw.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The guard's policy against a fake clock and fake threads; BackgroundTest runs it against the kernel. */
class StarvationGuardTest {
    private static final long MS = 1_000_000L;

    private long now;
    private final Map<Integer, Long> waits = new HashMap<>();
    private final List<String> changes = new ArrayList<>();
    private final StarvationGuard guard = new StarvationGuard(new StarvationGuard.Threads() {
        @Override
        public OptionalLong runQueueWait(int tid) {
            Long w = waits.get(tid);
            return w == null ? OptionalLong.empty() : OptionalLong.of(w);
        }

        @Override
        public boolean schedule(int tid, boolean idle) {
            changes.add(tid + (idle ? " idle" : " normal"));
            return waits.containsKey(tid);
        }
    }, () -> now, new StarvationGuard.Settings(Duration.ofMillis(250), Duration.ofSeconds(1), Duration.ofMillis(500), 0.5));

    /** Advances the clock one period, in which each thread waited {@code share} of it for a CPU. */
    private void period(double share, int... tids) {
        now += 250 * MS;
        for (int tid : tids) {
            waits.merge(tid, (long) (share * 250 * MS), Long::sum);
        }
        guard.tick();
    }

    @Test
    void aThreadThatWaitsForACpuASecondRunsNormallyForItsBoostThenIdleAgain() {
        waits.put(7, 0L);
        guard.enter(7);
        guard.tick(); // the first look only takes the counts
        for (int i = 0; i < 3; i++) {
            period(0.9, 7);
        }
        assertThat(changes).as("starved for 750 ms: not yet").isEmpty();
        period(0.9, 7);
        assertThat(changes).containsExactly("7 normal");
        assertThat(guard.boosted()).isOne();
        period(0.0, 7);
        assertThat(changes).as("boosted for 250 of 500 ms").containsExactly("7 normal");
        period(0.0, 7);
        assertThat(changes).containsExactly("7 normal", "7 idle");
        assertThat(guard.boosted()).isZero();
        assertThat(guard.boosts()).isOne();
        for (int i = 0; i < 4; i++) {
            period(1.0, 7);
        }
        assertThat(changes).as("starved again, boosted again").containsExactly("7 normal", "7 idle", "7 normal");
        assertThat(guard.boosts()).isEqualTo(2);
    }

    @Test
    void aThreadThatGetsTheGapsOrIsBlockedIsLeftIdle() {
        waits.put(1, 0L);
        waits.put(2, 0L);
        guard.enter(1);
        guard.enter(2);
        guard.tick();
        for (int i = 0; i < 40; i++) {
            period(i % 4 == 3 ? 0.1 : 0.9, 1); // a gap every fourth period
            period(0.0, 2); // blocked: it does not want a CPU
        }
        assertThat(changes).isEmpty();
        assertThat(guard.tracked()).isEqualTo(2);
    }

    @Test
    void aThreadThatWentBackToNormalByItselfIsNeverMadeIdleByTheGuard() {
        waits.put(3, 0L);
        guard.enter(3);
        guard.tick();
        for (int i = 0; i < 4; i++) {
            period(1.0, 3);
        }
        assertThat(changes).containsExactly("3 normal");
        List<String> own = new ArrayList<>();
        guard.leave(3, () -> own.add("3 normal by itself"));
        for (int i = 0; i < 8; i++) {
            period(1.0, 3);
        }
        assertThat(own).containsExactly("3 normal by itself");
        assertThat(changes).as("no demotion after it left").containsExactly("3 normal");
        assertThat(guard.tracked()).isZero();
    }

    @Test
    void enteringAgainStartsAFreshCountAndAGoneThreadIsForgotten() {
        waits.put(4, 0L);
        guard.enter(4);
        guard.tick();
        for (int i = 0; i < 3; i++) {
            period(1.0, 4);
        }
        guard.leave(4, () -> { });
        guard.enter(4); // a chunk write ends and the next begins
        guard.tick();
        for (int i = 0; i < 3; i++) {
            period(1.0, 4);
        }
        assertThat(changes).as("750 ms in each registration").isEmpty();
        waits.remove(4);
        period(1.0);
        assertThat(guard.tracked()).isZero();
    }
}
