package dev.thaw.node.pool;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.core.FunctionManifest;
import dev.thaw.core.StartKind;
import dev.thaw.node.ahead.AheadOfDemand;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The node's work ahead of demand wired to a real pool, with the pool's fakes: a declared chain
 * A -> B restores a clone of B when A is invoked and runs B's freshen hook on it; B's invocation
 * that arrives while the hook runs is the demand the prediction foresaw, and waits for that clone
 * instead of restoring a second one.
 */
class PredictedCloneTest {
    private final FunctionPoolTest.FakeTime time = new FunctionPoolTest.FakeTime();
    private final FunctionPoolTest.FakeStarter startsOfA = new FunctionPoolTest.FakeStarter();
    private final FunctionPoolTest.FakeStarter startsOfB = new FunctionPoolTest.FakeStarter();
    private static final AheadOfDemand.Observer UNOBSERVED = new AheadOfDemand.Observer() {
        @Override
        public void freshen(String function, String outcome) {
        }

        @Override
        public void predicted(String function, String from) {
        }
    };
    private final AheadOfDemand ahead = new AheadOfDemand(time::nanos, time, Duration.ofMinutes(5), UNOBSERVED);

    private static FunctionManifest manifest(String name, List<String> next, String freshen) {
        return new FunctionManifest(name, "x.Handler::handle", null, 256, 30_000, Map.of(), 8, true, null, null,
                new FunctionManifest.Scaling(0, 1.0, 0, next, freshen));
    }

    private FunctionPool pool(String name, FunctionPoolTest.FakeStarter starter) {
        return new FunctionPool(new FunctionPool.Settings(name, 1, 8, 30_000, 256, 100, 2), starter, time, time,
                new FunctionPoolTest.Recorder());
    }

    /** A -> B declared, B restored from a snapshot and with a freshen hook. */
    private void declareChain(AheadOfDemand on, FunctionPool a, FunctionPool b) {
        startsOfB.kind = StartKind.RESTORE;
        on.manage("a", a, manifest("a", List.of("b"), null));
        on.manage("b", b, manifest("b", List.of(), "prefetch"));
        time.advance(Duration.ZERO);
    }

    @Test
    void anInvocationArrivingWhileThePredictedCloneFreshensWaitsForItAndNoSecondCloneIsRestored() throws Exception {
        FunctionPool a = pool("a", startsOfA);
        FunctionPool b = pool("b", startsOfB);
        declareChain(ahead, a, b);

        a.submit(new Invocation("{}".getBytes(StandardCharsets.UTF_8)));
        ahead.invoked("a");
        time.advance(Duration.ZERO);
        assertThat(startsOfB.clones).as("a clone of B, predicted by A's invocation").containsExactly(true);
        FunctionPoolTest.FakeInstance clone = startsOfB.started.getFirst();

        time.advance(Duration.ofMillis(40));
        b.ready(clone);
        time.advance(Duration.ofMillis(100)); // the freshen call finds the clone ready
        assertThat(clone.handed).singleElement().satisfies(f -> assertThat(f.isFreshen()).isTrue());
        Invocation freshen = clone.last();

        time.advance(Duration.ofMillis(30));
        Invocation call = b.submit(new Invocation("{}".getBytes(StandardCharsets.UTF_8)));
        ahead.invoked("b");
        time.advance(Duration.ofMillis(1));
        assertThat(startsOfB.started).as("the invocation waits for the predicted clone, no second restore").hasSize(1);

        b.completed(clone, freshen.requestId(), new byte[0]);
        assertThat(clone.last()).isSameAs(call);
        b.completed(clone, call.requestId(), "{}".getBytes(StandardCharsets.UTF_8));
        assertThat(call.result().get().start()).isEqualTo(StartKind.PREWARMED);
        time.advance(Duration.ofSeconds(3)); // a tick: still one instance
        assertThat(startsOfB.started).hasSize(1);
        ahead.stop();
    }

    /** An AheadOfDemand whose timer tasks are counted. */
    private AheadOfDemand counted(AtomicInteger timerTasks) {
        Scheduler counting = (task, delay) -> {
            timerTasks.incrementAndGet();
            return time.schedule(task, delay);
        };
        return new AheadOfDemand(time::nanos, counting, Duration.ofMinutes(5), UNOBSERVED);
    }

    @Test
    void aBusyNodesInvocationsReachThePredictorInFewPassesOfTheTimer() {
        AtomicInteger timerTasks = new AtomicInteger();
        AheadOfDemand on = counted(timerTasks);
        on.manage("x", pool("x", startsOfA), manifest("x", List.of(), null));
        time.advance(Duration.ZERO);

        timerTasks.set(0);
        for (int i = 0; i < 500; i++) { // 500 invocations in 10 ms
            on.invoked("x");
            time.advance(Duration.ofNanos(20_000));
        }
        time.advance(Duration.ofMillis(20));
        assertThat(timerTasks.get()).as("passes of the predictor for 500 invocations in 10 ms").isBetween(1, 3);
        on.stop();
    }

    @Test
    void aBusyChainStartsOneCloneAndWaitsWithOneFreshenCallForIt() {
        AtomicInteger timerTasks = new AtomicInteger();
        AheadOfDemand on = counted(timerTasks);
        FunctionPool b = pool("b", startsOfB);
        declareChain(on, pool("a", startsOfA), b);

        on.invoked("a");
        time.advance(Duration.ZERO);
        assertThat(startsOfB.clones).as("B's clone, predicted by A's first invocation at once").containsExactly(true);

        timerTasks.set(0);
        for (int i = 0; i < 200; i++) { // A every 5 ms for a second while B's clone is not ready
            on.invoked("a");
            time.advance(Duration.ofMillis(5));
        }
        assertThat(startsOfB.clones).as("one clone of B, however often A is invoked").hasSize(1);
        // 100 passes of the predictor, 10 tries of one freshen call: not one round of tries per invocation
        assertThat(timerTasks.get()).as("timer tasks in that second").isLessThan(150);

        b.ready(startsOfB.started.getFirst());
        time.advance(Duration.ofMillis(100));
        assertThat(startsOfB.started.getFirst().handed).as("one freshen call once the clone is ready")
                .singleElement().satisfies(f -> assertThat(f.isFreshen()).isTrue());
        on.stop();
    }

    @Test
    void theNodesFreshenLimitRefusesCallsBeyondItAndDescribeShowsIt() throws Exception {
        AheadOfDemand limited = new AheadOfDemand(time::nanos, time, Duration.ofMinutes(5), UNOBSERVED, true,
                new dev.thaw.scaling.FreshenLimits(1, Duration.ofMinutes(10), Duration.ofMillis(250)));
        FunctionPool a = pool("a", startsOfA);
        FunctionPool b = pool("b", startsOfB);
        declareChain(limited, a, b);

        java.util.Set<FunctionPoolTest.FakeInstance> readied = new java.util.HashSet<>();
        for (int round = 0; round < 2; round++) {
            a.submit(new Invocation("{}".getBytes(StandardCharsets.UTF_8)));
            limited.invoked("a");
            time.advance(Duration.ZERO);
            startsOfB.started.stream().filter(readied::add).forEach(b::ready);
            time.advance(Duration.ofMillis(100));
            FunctionPoolTest.FakeInstance clone = startsOfB.started.getFirst();
            if (clone.last() != null && clone.last().isFreshen() && !clone.last().isDone()) {
                assertThat(clone.last().deadlineEpochMs() - time.epochMillis()).as("the node's time limit per call")
                        .isLessThanOrEqualTo(250);
                b.completed(clone, clone.last().requestId(), new byte[0]);
            }
            time.advance(Duration.ofSeconds(5));
        }

        @SuppressWarnings("unchecked")
        Map<String, Object> freshen = (Map<String, Object>) limited.describe("b").orElseThrow().get("freshen");
        assertThat(freshen).containsEntry("granted", 1L).containsEntry("refused", 1L)
                .containsEntry("limit", Map.of("maxCalls", 1, "windowS", 600L, "maxMs", 250L));
        limited.stop();
    }
}
