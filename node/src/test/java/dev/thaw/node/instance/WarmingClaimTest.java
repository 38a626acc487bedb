package dev.thaw.node.instance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.core.FunctionManifest;
import dev.thaw.node.function.Deployment;
import dev.thaw.node.snapshot.Snapshot;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.Test;

/** The cluster's right to warm, with a fake etcd answer, a fake clock and the calls run when the test says. */
class WarmingClaimTest {
    private static final Deployment D = new Deployment(new FunctionManifest("fn", "a.B::handle", null, 256, 30_000, Map.of(),
            1, true), 1, Path.of("/nonexistent"), Path.of("/nonexistent"), List.of(), "0", 0, Instant.EPOCH);

    private long now = 1_000_000_000L;
    private final Deque<Runnable> background = new ArrayDeque<>();
    private final Executor later = background::add;
    private final FakeShared shared = new FakeShared();

    @Test
    void askedOffTheCallersThreadAndHeldOnceEtcdSaysSo() {
        WarmingClaim claim = new WarmingClaim(shared, D, () -> now, later);
        assertThat(claim.held()).isFalse();
        claim.ask();
        claim.ask(); // an ask under way: no second
        assertThat(shared.claims).isZero();
        runBackground();
        assertThat(shared.claims).isEqualTo(1);
        assertThat(claim.held()).isTrue();
        assertThat(claim.refused()).isEmpty();
    }

    @Test
    void aRefusalIsSaidAndNotAskedAgainForTheRetryPeriod() {
        shared.answers.add(Optional.of("node node-1 holds the right to warm it"));
        WarmingClaim claim = new WarmingClaim(shared, D, () -> now, later);
        claim.ask();
        runBackground();
        assertThat(claim.held()).isFalse();
        assertThat(claim.refused()).contains("node node-1 holds the right to warm it");
        now += WarmingClaim.RETRY.minusSeconds(1).toNanos();
        claim.ask();
        runBackground();
        assertThat(shared.claims).as("refused lately").isEqualTo(1);
        now += Duration.ofSeconds(1).toNanos();
        claim.ask();
        runBackground();
        assertThat(shared.claims).isEqualTo(2);
        assertThat(claim.held()).isTrue();
    }

    @Test
    void aHolderWithNothingToWarmGivesTheRightBackAfterTheUnusedPeriod() {
        WarmingClaim claim = held();
        now += WarmingClaim.UNUSED.minusSeconds(1).toNanos();
        claim.nothingToWarm();
        runBackground();
        assertThat(claim.held()).isTrue();
        now += Duration.ofSeconds(1).toNanos();
        claim.nothingToWarm();
        runBackground();
        assertThat(claim.held()).isFalse();
        assertThat(shared.releases).isEqualTo(1);
        claim.release(); // not held: nothing to give back
        runBackground();
        assertThat(shared.releases).isEqualTo(1);
    }

    @Test
    void closedWhileAskingTheRightGoesBackAsItComes() {
        WarmingClaim claim = new WarmingClaim(shared, D, () -> now, later);
        claim.ask();
        claim.close();
        runBackground();
        runBackground();
        assertThat(claim.held()).isFalse();
        assertThat(shared.releases).isEqualTo(1);
        now += WarmingClaim.RETRY.plusSeconds(1).toNanos();
        claim.ask();
        runBackground();
        assertThat(shared.claims).as("closed: never asked again").isEqualTo(1);
    }

    @Test
    void etcdFailingIsARefusalWithItsReason() {
        shared.failure = new IllegalStateException("etcd is down");
        WarmingClaim claim = new WarmingClaim(shared, D, () -> now, later);
        claim.ask();
        runBackground();
        assertThat(claim.held()).isFalse();
        assertThat(claim.refused()).contains("etcd is down");
    }

    @Test
    void aSingleNodeAlwaysHoldsItAndNeverAsks() {
        WarmingClaim claim = new WarmingClaim(SharedSnapshots.NONE, D, () -> now, later);
        assertThat(claim.held()).isTrue();
        claim.ask();
        assertThat(background).isEmpty();
    }

    private WarmingClaim held() {
        WarmingClaim claim = new WarmingClaim(shared, D, () -> now, later);
        claim.ask();
        runBackground();
        assertThat(claim.held()).isTrue();
        return claim;
    }

    private void runBackground() {
        List<Runnable> todo = new ArrayList<>(background);
        background.clear();
        todo.forEach(Runnable::run);
    }

    /** A cluster's shared snapshots that answer claims from a queue (held when empty). */
    private static final class FakeShared implements SharedSnapshots {
        final Deque<Optional<String>> answers = new ArrayDeque<>();
        RuntimeException failure;
        int claims;
        int releases;

        @Override
        public Optional<String> claimWarming(Deployment d) {
            claims++;
            if (failure != null) {
                throw failure;
            }
            return answers.isEmpty() ? Optional.empty() : answers.poll();
        }

        @Override
        public void releaseWarming(Deployment d) {
            releases++;
        }

        @Override
        public Decision beforeCheckpoint(Deployment d, Snapshot s) {
            return Decision.CHECKPOINT;
        }

        @Override
        public void taken(Deployment d, Snapshot s) {
        }

        @Override
        public void notTaken(Deployment d, String why) {
        }

        @Override
        public void discarded(Deployment d, String snapshotId, String why) {
        }
    }
}
