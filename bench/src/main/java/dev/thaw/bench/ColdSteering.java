package dev.thaw.bench;

import dev.thaw.client.ThawClient;
import dev.thaw.core.FunctionInfo;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/** Makes a function's next invocation a cold start, for the benchmarks that steer to cold starts. */
final class ColdSteering {
    private ColdSteering() {
    }

    /**
     * Evicts until the node reports no instance at all: evicting stops idle instances only, and one
     * that is still starting or finishing an invocation is caught on a later round.
     *
     * @throws IllegalStateException when instances are still running after {@code wait}
     */
    static void makeCold(ThawClient client, String name, Duration wait) {
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
