package dev.thaw.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The guard's policy against a fake clock and fake threads; BackgroundTest runs it against the kernel. */
class StarvationGuardTest {
    private static final long MS = 1_000_000L;
    /** Runnable, and ran this share of a period: starving below a tenth. */
    private static final double STARVING = 0.02;
    private static final double GAPS = 0.3;
    /** Not runnable: blocked, waiting for something other than a CPU. */
    private static final double BLOCKED = -1;

    private long now;
    private final Map<Integer, StarvationGuard.Sample> kernel = new HashMap<>();
    /** What the guard changed. */
    private final List<String> changes = new ArrayList<>();
    /** What the threads changed themselves. */
    private final List<String> own = new ArrayList<>();
    private final StarvationGuard guard = new StarvationGuard(new StarvationGuard.Threads() {
        @Override
        public Optional<StarvationGuard.Sample> sample(int tid) {
            return Optional.ofNullable(kernel.get(tid));
        }

        @Override
        public boolean schedule(int tid, boolean idle) {
            changes.add(tid + (idle ? " idle" : " normal"));
            return kernel.containsKey(tid);
        }
    }, () -> now, new StarvationGuard.Settings(Duration.ofMillis(250), Duration.ofSeconds(1), Duration.ofMillis(500), 0.1));

    private void enter(int tid) {
        kernel.putIfAbsent(tid, new StarvationGuard.Sample(true, 0));
        guard.enter(tid, () -> own.add(tid + " idle"));
    }

    private void leave(int tid) {
        guard.leave(tid, () -> own.add(tid + " normal"));
    }

    /** Advances the clock one period, in which each thread ran its share of it (BLOCKED: none, and not runnable). */
    private void period(Map<Integer, Double> shares) {
        now += 250 * MS;
        shares.forEach((tid, share) -> {
            StarvationGuard.Sample was = kernel.get(tid);
            kernel.put(tid, new StarvationGuard.Sample(share >= 0, was.cpuNanos() + (long) (Math.max(0, share) * 250 * MS)));
        });
        guard.tick();
    }

    private void period(double share, int... tids) {
        Map<Integer, Double> shares = new HashMap<>();
        for (int tid : tids) {
            shares.put(tid, share);
        }
        period(shares);
    }

    @Test
    void aThreadThatWantsACpuForASecondAndBarelyGetsOneRunsNormallyForTheBoostThenIdleAgain() {
        enter(7);
        assertThat(own).containsExactly("7 idle");
        guard.tick();
        for (int i = 0; i < 3; i++) {
            period(STARVING, 7);
        }
        assertThat(changes).as("starved for 750 ms: not yet").isEmpty();
        period(STARVING, 7);
        assertThat(changes).containsExactly("7 normal");
        assertThat(guard.boosted()).isTrue();
        period(0.9, 7);
        assertThat(changes).as("boosted for 250 of 500 ms").containsExactly("7 normal");
        period(0.9, 7);
        assertThat(changes).containsExactly("7 normal", "7 idle");
        assertThat(guard.boosted()).isFalse();
        assertThat(guard.boosts()).isOne();
        for (int i = 0; i < 4; i++) {
            period(0.0, 7);
        }
        assertThat(changes).as("starved again, boosted again").containsExactly("7 normal", "7 idle", "7 normal");
        assertThat(guard.boosts()).isEqualTo(2);
    }

    @Test
    void aThreadThatGetsTheGapsOrIsBlockedIsLeftIdle() {
        enter(1);
        enter(2);
        guard.tick();
        for (int i = 0; i < 40; i++) {
            period(Map.of(1, i % 4 == 3 ? GAPS : STARVING, 2, BLOCKED));
        }
        assertThat(changes).isEmpty();
        assertThat(guard.tracked()).isEqualTo(2);
    }

    @Test
    void aBoostTakesAllIdleWorkAlongAndWhatEntersDuringItStaysNormalUntilItEnds() {
        enter(1);
        enter(2);
        guard.tick();
        for (int i = 0; i < 4; i++) {
            period(Map.of(1, STARVING, 2, BLOCKED)); // 2 waits for 1's output
        }
        assertThat(changes).containsExactlyInAnyOrder("1 normal", "2 normal");
        enter(3); // the next stage of the pipeline begins a chunk
        assertThat(own).as("3 stays normal during the boost").containsExactly("1 idle", "2 idle");
        period(0.5, 1, 2, 3);
        period(0.5, 1, 2, 3);
        assertThat(changes).containsExactlyInAnyOrder("1 normal", "2 normal", "1 idle", "2 idle", "3 idle");
        enter(4);
        assertThat(own).as("after the boost, entering is idle again").endsWith("4 idle");
    }

    @Test
    void aThreadThatWentBackToNormalByItselfIsNeverMadeIdleByTheGuard() {
        enter(3);
        guard.tick();
        for (int i = 0; i < 4; i++) {
            period(STARVING, 3);
        }
        assertThat(changes).containsExactly("3 normal");
        leave(3);
        for (int i = 0; i < 8; i++) {
            period(0.9, 3);
        }
        assertThat(own).containsExactly("3 idle", "3 normal");
        assertThat(changes).as("no demotion after it left").containsExactly("3 normal");
        assertThat(guard.tracked()).isZero();
    }

    @Test
    void aStageThatEntersForEachChunkCountsAsTheSameIdleWorkAndAGoneThreadIsForgotten() {
        enter(4);
        guard.tick();
        for (int i = 0; i < 3; i++) {
            period(STARVING, 4);
        }
        leave(4);
        enter(4); // the next chunk: sampled as it begins
        assertThat(changes).isEmpty();
        period(STARVING, 4);
        assertThat(changes).as("750 ms in the first chunk and 250 in the next").containsExactly("4 normal");
        kernel.remove(4);
        period(0.0);
        assertThat(guard.tracked()).isZero();
    }
}
