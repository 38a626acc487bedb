package dev.thaw.node.pool;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.core.FunctionManifest;
import dev.thaw.core.StartKind;
import dev.thaw.node.ahead.AheadOfDemand;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code thaw evict} on a function with a prewarm level, wired as the node wires it, with the pool's
 * fakes: what comes back after the eviction is the prewarm level's pre-restored clones, even when
 * the autoscaler's tick falls while the evicted instances stop.
 */
class EvictRefillTest {
    private final FunctionPoolTest.FakeTime time = new FunctionPoolTest.FakeTime();
    private final FunctionPoolTest.FakeStarter starts = new FunctionPoolTest.FakeStarter();
    private final AheadOfDemand ahead = new AheadOfDemand(time::nanos, time, Duration.ofMinutes(5),
            new AheadOfDemand.Observer() {
                @Override
                public void freshen(String function, String outcome) {
                }

                @Override
                public void predicted(String function, String from) {
                }
            });

    @Test
    void aTickWhileEvictedInstancesStopRestoresNoScaleUpInPlaceOfThePrewarmLevelsClone() throws Exception {
        starts.kind = StartKind.RESTORE;
        FunctionPool pool = new FunctionPool(new FunctionPool.Settings("w", 1, 8, 30_000, 256, 100, 2), starts, time,
                time, new FunctionPoolTest.Recorder());
        ahead.manage("w", pool, new FunctionManifest("w", "x.Handler::handle", null, 256, 30_000, Map.of(), 8, true,
                null, null, new FunctionManifest.Scaling(0, 1.0, 1, List.of(), null)));
        ahead.start(); // the autoscaler's ticks
        time.advance(Duration.ZERO);
        assertThat(starts.clones).as("the prewarm level's clone").containsExactly(true);
        pool.ready(starts.started.getFirst());

        // an invocation long enough for the autoscaler's ticks to see it: its stable window remembers it
        Invocation call = pool.submit(new Invocation("{}".getBytes(StandardCharsets.UTF_8)));
        ahead.invoked("w");
        time.advance(Duration.ofSeconds(5));
        pool.completed(starts.started.getFirst(), call.requestId(), "{}".getBytes(StandardCharsets.UTF_8));
        ahead.ended("w");
        time.advance(Duration.ZERO);
        starts.started.stream().skip(1).forEach(pool::ready);
        assertThat(pool.counts().idle()).as("the clone that served, and the level refilled").isEqualTo(2);
        int before = starts.started.size();

        ahead.evicting("w");
        Thread exits = Thread.ofVirtual().start(() -> {
            for (FunctionPoolTest.FakeInstance i : starts.started) {
                while (!i.stopped) {
                    Thread.onSpinWait();
                }
                pool.exited(i, Exit.of("was killed by signal 15 (SIGTERM)"));
            }
        });
        assertThat(pool.evictIdle()).isEqualTo(2);
        exits.join();
        time.advance(Duration.ofSeconds(2)); // the autoscaler's tick, before evict's own decision
        ahead.evicted("w");
        time.advance(Duration.ZERO);

        assertThat(starts.clones.subList(before, starts.clones.size())).as("starts after the eviction: clones only")
                .containsExactly(true);
        ahead.stop();
    }
}
