package dev.thaw.bench;

import dev.thaw.client.ThawClient;
import dev.thaw.core.FunctionInfo;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/** Makes a function's next invocation a cold start, for the benchmarks that steer to cold starts. */
final class ColdSteering {
    private static final Duration SNAPSHOT_WAIT = Duration.ofMinutes(2);

    private ColdSteering() {
    }

    private static void awaitSnapshotTaken(ThawClient client, String name) {
        long deadline = System.nanoTime() + SNAPSHOT_WAIT.toNanos();
        while (true) {
            FunctionInfo.SnapshotInfo snapshot = client.describe(name).snapshot();
            if (snapshot == null || !"pending".equals(snapshot.state())) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(name + ": its snapshot was still being taken after "
                        + SNAPSHOT_WAIT.toSeconds() + " s");
            }
            LockSupport.parkNanos(50_000_000);
        }
    }

    /**
     * Evicts until the node reports no instance at all: evicting stops idle instances only, and one
     * that is still starting or finishing an invocation is caught on a later round.
     *
     * A snapshot being taken is waited for first (within {@link #SNAPSHOT_WAIT}): a deploy boots
     * the version to take it, and that boot, which no one waits for, warms up for seconds.
     *
     * @throws IllegalStateException when instances are still running after {@code wait}
     */
    static void makeCold(ThawClient client, String name, Duration wait) {
        awaitSnapshotTaken(client, name);
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            client.evict(name);
            FunctionInfo.InstanceCounts counts = client.describe(name).instances();
            if (counts == null || counts.starting() + counts.idle() + counts.busy() == 0) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(name + ": instances still running " + wait.toMillis()
                        + " ms after evicting: " + counts);
            }
            LockSupport.parkNanos(20_000_000);
        }
    }
}
